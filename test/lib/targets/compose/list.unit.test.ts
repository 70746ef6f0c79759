import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import {expect} from 'chai'

import {APP_PROBE_SCRIPT, pgIsReady} from '../../../../src/lib/model/stack-model.js'

import {interactivePsqlCommand} from '../../../../src/lib/operations/db/psql.js'
import {dockerExecArgs} from '../../../../src/lib/engine/docker-exec.js'
import {groupStacks, listStacks} from '../../../../src/lib/targets/compose/list.js'
import {StubEngine} from '../../../support/stub-stack.js'

describe('stack list', () => {
  it('groups labelled containers and volumes by project, with state, URL and directory', async () => {
    const engine = new StubEngine()
      .addContainer({
        name: 'a-app-1',
        service: 'app',
        project: 'a',
        labels: {'io.stackctl.project': 'a', 'io.stackctl.dir': '/s/a'},
        ports: [{hostIp: '0.0.0.0', hostPort: 8080, containerPort: 5000}],
      })
      .addContainer({
        name: 'a-db-1',
        service: 'db',
        project: 'a',
        state: 'exited',
        labels: {'io.stackctl.project': 'a'},
      })
      .addVolume('a_postgres_data', {'io.stackctl.project': 'a', 'io.stackctl.stack-id': 'x'})
      .addVolume('b_postgres_data', {'io.stackctl.project': 'b', 'io.stackctl.stack-id': 'y'})
    const stacks = groupStacks(engine.containersList, [...engine.volumesByName.values()])
    expect(stacks.map((s) => [s.project, s.state, s.url, s.dir, s.volume.exists])).to.deep.equal([
      ['a', 'partly running', 'http://127.0.0.1:8080', '/s/a', true],
      ['b', 'down', null, null, true],
    ])
  })

  it('shows the volume an upgraded stack’s db mounts, not the one it superseded', () => {
    const engine = new StubEngine()
      .addContainer({
        name: 'a-db-1',
        service: 'db',
        project: 'a',
        labels: {'io.stackctl.project': 'a'},
        volumes: ['a_postgres_data_pg17'],
      })
      .addVolume('a_postgres_data', {'io.stackctl.project': 'a', 'io.stackctl.stack-id': 'x'})
      .addVolume('a_postgres_data_pg17', {'io.stackctl.project': 'a', 'io.stackctl.stack-id': 'x'})
    expect(groupStacks(engine.containersList, [...engine.volumesByName.values()])[0].volume.name).to.equal(
      'a_postgres_data_pg17',
    )
  })

  it('shows the data volume of a stack that archives its WAL, not the archive its db also mounts', () => {
    const backups = {'io.stackctl.project': 'a', 'io.stackctl.stack-id': 'x', 'io.stackctl.volume-role': 'backups'}
    const engine = new StubEngine()
      .addContainer({
        name: 'a-db-1',
        service: 'db',
        project: 'a',
        labels: {'io.stackctl.project': 'a'},
        volumes: ['a_backups', 'a_postgres_data'],
      })
      .addVolume('a_backups', backups)
      .addVolume('a_postgres_data', {'io.stackctl.project': 'a', 'io.stackctl.stack-id': 'x'})
    expect(groupStacks(engine.containersList, [...engine.volumesByName.values()])[0].volume.name).to.equal(
      'a_postgres_data',
    )
    // Taken down with --volumes: the archive is kept, the data volume is gone, and ls says so.
    const down = groupStacks([], [{...[...engine.volumesByName.values()][0]}])
    expect(down[0].volume).to.deep.include({name: 'a_postgres_data', exists: false})
  })

  it('builds psql arguments with no password anywhere, a terminal only when there is one', () => {
    const interactivePsqlArgs = (id: string, extra: string[], tty: boolean) =>
      dockerExecArgs(id, interactivePsqlCommand(extra), tty)
    expect(interactivePsqlArgs('c1', ['-c', 'select 1'], false)).to.deep.equal([
      'exec',
      '-i',
      'c1',
      'psql',
      '-U',
      'postgres',
      '-d',
      'visits',
      '-c',
      'select 1',
    ])
    expect(interactivePsqlArgs('c1', [], true).slice(0, 3)).to.deep.equal(['exec', '-i', '-t'])
    expect(interactivePsqlArgs('c1', [], true).join(' ')).to.not.match(/password|PGPASSWORD/i)
  })
})

describe('stack list: the same readiness view as status', () => {
  let server: Server
  let status: number
  let port: number
  before(async () => {
    server = createServer((_request, response) => response.writeHead(status).end('{}'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
  })
  after(() => server.close())

  /** A stack the engine still calls `starting` (its first check comes 30 s after a start), checks stackctl's own. */
  const starting = () => {
    const labels = {'io.stackctl.project': 'a', 'io.stackctl.stack-id': 'x'}
    const engine = new StubEngine()
      .addContainer({
        name: 'a-app-1',
        service: 'app',
        project: 'a',
        health: 'starting',
        labels,
        ports: [{hostIp: '127.0.0.1', hostPort: port, containerPort: 5000}],
      })
      .addContainer({name: 'a-db-1', service: 'db', project: 'a', health: 'starting', labels})
    // The engine's inspection would say which check runs; the stub's listing carries it instead.
    const [app, db] = engine.containersList as Array<{healthTest?: string[]}>
    app.healthTest = ['CMD', 'bash', '-c', APP_PROBE_SCRIPT.replaceAll('$$', '$')]
    db.healthTest = ['CMD', ...pgIsReady()]
    return engine
  }

  it('shows healthy when the stack answers stackctl’s probe while the engine still says starting', async () => {
    status = 200
    const [stack] = await listStacks(starting())
    expect(stack.services.map((s) => [s.name, s.health])).to.deep.equal([
      ['app', 'healthy'],
      ['db', 'healthy'],
    ])
  })

  it('keeps the engine’s starting when the app does not answer 200 (negative control)', async () => {
    status = 503
    const [stack] = await listStacks(starting())
    expect(stack.services.map((s) => s.health)).to.deep.equal(['starting', 'starting'])
  })
})
