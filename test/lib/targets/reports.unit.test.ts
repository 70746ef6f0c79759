/**
 * One --json shape per verb: `up`, `down` and `status` report the same keys on Compose and on a swarm (over
 * the stub engine and the stub swarm), and both targets' reports pass the ONE schema in schemas/<verb>.json.
 */
import {expect} from 'chai'
import {readFileSync} from 'node:fs'
import path from 'node:path'

import {jsonSchemaVersion} from '../../../src/lib/cli/base-command.js'
import {EngineFactory} from '../../../src/lib/engine/factory.js'
import {freePort} from '../../../src/lib/engine/net/ports.js'
import {appContext} from '../../../src/lib/model/stackdir/stack-files.js'
import {LABELS} from '../../../src/lib/model/config/labels.js'
import type {ImageResolver} from '../../../src/lib/stack/images.js'
import {ComposeTarget} from '../../../src/lib/targets/compose/compose-target.js'
import {downStack} from '../../../src/lib/targets/compose/down.js'
import {upStack} from '../../../src/lib/targets/compose/up.js'
import {
  composeDownReport,
  composeUpReport,
  swarmDownReport,
  swarmService,
  swarmUpReport,
} from '../../../src/lib/targets/reports.js'
import {deploySwarmStack} from '../../../src/lib/targets/swarm/cluster/deploy.js'
import {downSwarmStack} from '../../../src/lib/targets/swarm/cluster/down.js'
import type {TaskStatus} from '../../../src/lib/targets/swarm/cluster/status.js'
import {SwarmTarget} from '../../../src/lib/targets/swarm/swarm-target.js'
import {repoRoot} from '../../helpers/cli.js'
import {assertJsonContract} from '../../helpers/json-contract.js'
import {stubStack, withLocalImages} from '../../support/stub-context.js'
import {StubEngine} from '../../support/stub-stack.js'
import {stubSwarmContext, type StubSwarmContext} from '../../support/stub-swarm-context.js'
import {stubTask} from '../../support/stub-swarm.js'

/** What `stackctl <verb> --json` prints for a result: the version first, as the base command adds it. */
function printed(verb: string, result: object): string {
  return JSON.stringify({schemaVersion: jsonSchemaVersion(verb), ...result})
}

/** The keys at the top level of a report, and of the object under `compose` or `swarm`. */
function keys(report: object): string[] {
  return Object.keys(report).sort()
}

/** `demo` up on Compose over the stub engine: its up result, its status through the target, and its down. */
async function composeReports() {
  const port = await freePort()
  const {ctx, engine, resolver} = await stubStack({port}, {engine: withLocalImages(new StubEngine())})
  const up = composeUpReport(await upStack(ctx, resolver))
  const target = new ComposeTarget(
    {dir: ctx.paths.dir, project: 'demo', imageSource: 'local', port},
    new EngineFactory(() => engine),
  )
  const status = (await target.status({})).result
  const down = composeDownReport(await downStack(ctx), 1.5)
  return {up, status, down, dir: ctx.paths.dir}
}

/** `demo` deployed on the stub 3-node local swarm (db 1/1, app 3/3, all running), then reported and removed. */
async function swarmReports() {
  const stub: StubSwarmContext = await stubSwarmContext()
  const {tag} = await appContext('stackctl/node:20')
  stub.host.addImage(`stackctl-app:${tag}`)
  const resolver: ImageResolver = {engine: stub.host, pull: async () => false, buildLocal: async () => {}}
  const running = () => [
    stubTask({serviceName: 'demo_db', state: 'running', nodeId: 'n1'}),
    ...[1, 2, 3].map((slot) => stubTask({serviceName: 'demo_app', state: 'running', slot, nodeId: `n${slot}`})),
  ]
  stub.swarm.serviceList = [
    {id: 's1', name: 'demo_db', replicas: 1, labels: {}},
    {id: 's2', name: 'demo_app', replicas: 3, labels: {}},
  ]
  stub.swarm.taskPolls = [running()]
  const up = swarmUpReport(await deploySwarmStack(stub.sw, resolver, {replicas: 3}), stub.sw.stack.paths.dir)
  // Through the target, as `status --target swarm` runs it: the stack directory and the manager's endpoint.
  stub.swarm.taskPolls = [running()]
  const target = new SwarmTarget(
    {dir: stub.sw.stack.paths.dir, project: 'demo', imageSource: 'local', port: 8080},
    stub.sw.target.endpoint,
    stub.sw.engines,
  )
  const status = (await target.status({})).result
  const stackId = JSON.parse(readFileSync(path.join(stub.sw.stack.paths.dir, 'swarm.json'), 'utf8')).stackId
  stub.sw.swarmState = {...stub.sw.swarmState!, stackId}
  for (const service of stub.swarm.serviceList) service.labels = {[LABELS.stackId]: stackId}
  stub.swarm.taskPolls = [[]]
  const down = swarmDownReport(await downSwarmStack(stub.sw))
  return {up, status, down, dir: stub.sw.stack.paths.dir}
}

describe('one --json shape per verb, whichever the target', function () {
  this.timeout(30_000)
  let compose: Awaited<ReturnType<typeof composeReports>>
  let swarm: Awaited<ReturnType<typeof swarmReports>>

  before(async () => {
    compose = await composeReports()
    swarm = await swarmReports()
  })

  it('status: the same keys on both targets, the target-only details under compose / swarm', () => {
    expect(keys(compose.status)).to.deep.equal(keys(swarm.status))
    expect(compose.status).to.deep.include({
      target: 'compose',
      project: 'demo',
      healthy: true,
      volume: {name: 'demo_postgres_data'},
      swarm: null,
    })
    expect(compose.status.services).to.deep.equal([
      {name: 'db', state: 'running', health: 'healthy', replicas: null},
      {name: 'app', state: 'running', health: 'healthy', replicas: null},
    ])
    expect(compose.status.compose).to.deep.include({mode: 'normal', dbUrl: null, problems: []})
    expect(swarm.status).to.deep.include({
      target: 'swarm',
      project: 'demo',
      healthy: true,
      volume: {name: 'demo_postgres_data'},
      compose: null,
    })
    expect(swarm.status.services).to.deep.equal([
      {name: 'db', state: 'running', health: 'healthy', replicas: '1/1'},
      {name: 'app', state: 'running', health: 'healthy', replicas: '3/3'},
    ])
    expect(swarm.status.swarm).to.deep.include({dbNode: 't-node1', deployed: true})
    expect(swarm.status.swarm?.tasks).to.have.length(4)
  })

  it('up: the same keys on both targets; visits and the directory at the top', () => {
    expect(keys(compose.up)).to.deep.equal(keys(swarm.up))
    expect(compose.up).to.deep.include({target: 'compose', dir: compose.dir, swarm: null})
    expect(compose.up.volume.name).to.equal('demo_postgres_data')
    expect(compose.up.compose?.images).to.include({source: 'local', postgres: 'stackctl/postgres:17'})
    expect(swarm.up).to.deep.include({target: 'swarm', dir: swarm.dir, compose: null, healthy: true})
    expect(swarm.up.volume).to.deep.equal({name: 'demo_postgres_data', visits: null})
    expect(swarm.up.swarm?.images.map((i) => i.via)).to.deep.equal(['load', 'load'])
    expect(swarm.up.services.map((s) => s.replicas)).to.deep.equal(['1/1', '3/3'])
  })

  it('down: the same keys on both targets; the deleted volume under one name', () => {
    expect(keys(compose.down)).to.deep.equal(keys(swarm.down))
    expect(compose.down).to.deep.equal({
      target: 'compose',
      project: 'demo',
      volume: {name: 'demo_postgres_data', deleted: false, visits: null},
      seconds: 1.5,
      compose: {volumeExisted: false}, // the stub Compose creates containers, not the volume
      swarm: null,
      restorePoint: null, // no --volumes, and no WAL archive
    })
    expect(swarm.down).to.deep.include({target: 'swarm', project: 'demo', compose: null})
    expect(swarm.down.volume).to.deep.equal({name: 'demo_postgres_data', deleted: false, visits: null})
    expect(swarm.down.swarm).to.deep.equal({
      stackRemoved: true,
      volumeNode: 't-node1',
      volumes: [{name: 'demo_postgres_data', node: 't-node1', deleted: false}],
    })
  })

  describe('the ONE schema of each verb', () => {
    for (const verb of ['up', 'status', 'down'] as const) {
      it(`${verb}: both targets' --json pass schemas/${verb}.json`, () => {
        expect(() => assertJsonContract(verb, printed(verb, compose[verb]))).to.not.throw()
        expect(() => assertJsonContract(verb, printed(verb, swarm[verb]))).to.not.throw()
      })
    }

    it('has no per-target variant for up and status (down keeps only --all’s own shape beside it)', () => {
      const schema = (verb: string) =>
        JSON.parse(readFileSync(path.join(repoRoot, 'schemas', `${verb}.json`), 'utf8')) as {anyOf?: unknown[]}
      expect(schema('up').anyOf).to.equal(undefined)
      expect(schema('status').anyOf).to.equal(undefined)
      expect(schema('down').anyOf).to.have.length(2)
    })

    it('rejects the old per-target shapes, a report without its target detail, and the old version (the control)', () => {
      const oldSwarmStatus = {
        target: 'swarm',
        project: 'demo',
        endpoint: swarm.status.swarm?.endpoint,
        url: swarm.status.url,
        dbNode: 't-node1',
        volume: 'demo_postgres_data',
        replicas: {db: '1/1', app: '3/3'},
        healthy: true,
        deployed: true,
        tasks: swarm.status.swarm?.tasks,
      }
      expect(() => assertJsonContract('status', printed('status', oldSwarmStatus))).to.throw(/does not match/)
      const {compose: _detail, ...flat} = compose.status
      const oldCompose = {...flat, ...compose.status.compose, volume: {name: 'demo_postgres_data', exists: true}}
      expect(() => assertJsonContract('status', printed('status', oldCompose))).to.throw(/does not match/)
      const {swarm: _swarm, ...withoutDetail} = swarm.up
      expect(() => assertJsonContract('up', printed('up', withoutDetail))).to.throw(/required property 'swarm'/)
      const v1 = JSON.stringify({schemaVersion: 1, ...compose.down})
      expect(() => assertJsonContract('down', v1)).to.throw(/does not match/)
    })
  })
})

describe('a swarm service, as both targets report a service', () => {
  const task = (service: string, state: string, health: TaskStatus['health']): TaskStatus => ({
    service,
    slot: 1,
    node: 't-node1',
    state,
    health,
    error: '',
  })

  it('is running and healthy when every replica runs healthy', () => {
    const tasks = [task('app', 'running', 'healthy'), task('app', 'running', 'healthy'), task('db', 'running', 'none')]
    expect(swarmService('app', '2/2', tasks)).to.deep.equal({
      name: 'app',
      state: 'running',
      health: 'healthy',
      replicas: '2/2',
    })
  })

  it('names a replica not yet running by its task’s state, and health starting while one starts', () => {
    const tasks = [task('app', 'running', 'starting'), task('app', 'preparing', 'none')]
    expect(swarmService('app', '1/2', tasks)).to.include({state: 'preparing', health: 'starting'})
  })

  it('is partly running when a wanted replica has no task yet, and absent when nothing is wanted', () => {
    expect(swarmService('app', '1/2', [task('app', 'running', 'healthy')])).to.include({
      state: 'partly running',
      health: 'healthy',
    })
    expect(swarmService('db', '0/0', [])).to.deep.equal({name: 'db', state: 'absent', health: 'none', replicas: '0/0'})
  })
})
