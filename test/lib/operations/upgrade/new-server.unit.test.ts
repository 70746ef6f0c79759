import {expect} from 'chai'

import {Interrupted} from '../../../../src/lib/errors.js'
import {type NewServerSpec, startNewServer} from '../../../../src/lib/operations/upgrade/new-server.js'
import {StubEngine} from '../../../support/stub-stack.js'
import {rejection} from '../../../support/rejection.js'

/** An engine whose started container is `state`, with `pg_isready` answering `ready` and the log `log`. */
function engineWith(state: 'running' | 'exited', ready: number, log = '') {
  const engine = new StubEngine()
  engine.containers.start = async (spec: {name: string}) => {
    engine.addContainer({name: spec.name, service: 'upgrade', state})
    return `id-${spec.name}`
  }
  engine.containers.logTail = async () => log
  engine.execAnswers.set('pg_isready', {exitCode: ready, stdout: '', stderr: '', truncated: false})
  return engine
}

const spec = (over: Partial<NewServerSpec> = {}): NewServerSpec => ({
  name: 'demo-upgrade-17',
  image: 'stackctl/postgres:17',
  pgMajor: 17,
  volume: 'demo_postgres_data_pg17',
  network: 'demo_default',
  passwordFile: '/stack/secrets/db_password',
  initdb: [],
  labels: {},
  timeoutSeconds: 60,
  ...over,
})

describe('the new server of an upgrade', () => {
  it('is ready once pg_isready answers', async () => {
    const engine = engineWith('running', 0)
    const server = await startNewServer(engine, spec())
    expect(server).to.include({id: 'id-demo-upgrade-17', name: 'demo-upgrade-17'})
    expect(engine.calls.filter((c) => c.includes('pg_isready'))).to.have.length(1)
  })

  it('says at once that it did not start, with its last error line and a hint about the volume', async () => {
    const log = 'initdb: error: directory "/var/lib/postgresql/17/docker" exists but is not empty\nexiting'
    const error = await rejection(startNewServer(engineWith('exited', 0, log), spec()))
    expect(error.message).to.equal(
      'the new server did not start (exit 1): initdb: error: directory "/var/lib/postgresql/17/docker" exists but is not empty',
    )
    expect(error.suggestion).to.include('demo_postgres_data_pg17 already held a data directory')
  })

  it('gives up after --timeout when it never answers', async () => {
    const error = await rejection(startNewServer(engineWith('running', 2), spec({timeoutSeconds: 0})))
    expect(error.message).to.equal('the new server did not answer within 0 s')
    expect(error.suggestion).to.equal('pass a longer --timeout')
  })

  it('stops when interrupted, before asking the server anything', async () => {
    const controller = new AbortController()
    controller.abort()
    const engine = engineWith('running', 0)
    const error = await rejection(startNewServer(engine, spec({signal: controller.signal})))
    expect(error).to.be.instanceOf(Interrupted)
    expect(error.message).to.equal('interrupted: the new server was starting')
    expect(engine.calls.filter((c) => c.includes('pg_isready'))).to.deep.equal([])
  })
})
