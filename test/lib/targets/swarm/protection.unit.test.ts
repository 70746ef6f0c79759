/**
 * The swarm target archives no WAL (issue 25): `status --target swarm` (lines and --json) and `doctor --target
 * swarm` state what holds the data instead and how to take a dump, over the stub swarm. The dump command carries
 * the stack's own flags so that it runs as printed.
 */
import {expect} from 'chai'

import {swarmStatusReport} from '../../../../src/lib/targets/reports.js'
import {describeSwarmStatus, swarmStackStatus} from '../../../../src/lib/targets/swarm/cluster/status.js'
import {dbNodeLabel} from '../../../../src/lib/targets/swarm/db-node.js'
import {swarmDoctor} from '../../../../src/lib/targets/swarm/doctor.js'
import {describeDoctor} from '../../../../src/lib/operations/doctor/checks.js'
import type {HaSettings} from '../../../../src/lib/targets/swarm/ha/spec.js'
import {protectionCheck, swarmProtection} from '../../../../src/lib/targets/swarm/protection.js'
import {stubSwarmContext} from '../../../support/stub-swarm-context.js'
import {stubTask} from '../../../support/stub-swarm.js'

/** `demo` deployed with one db pinned on node 2; `local: false` is a remote swarm (no partition probe). */
async function deployed(options: {local?: boolean; flags?: Record<string, string>} = {}) {
  const stub = await stubSwarmContext({local: options.local ?? true, flags: options.flags})
  stub.swarm.nodeList[1].labels[dbNodeLabel(stub.sw.stack.config.project)] = 'true'
  const project = stub.sw.stack.config.project
  stub.swarm.serviceList = [
    {id: 's1', name: `${project}_db`, replicas: 1, labels: {}},
    {id: 's2', name: `${project}_app`, replicas: 1, labels: {}},
  ]
  const tasks = () => [
    stubTask({serviceName: `${project}_db`, state: 'running', slot: 1, nodeId: 'n2'}),
    stubTask({serviceName: `${project}_app`, state: 'running', slot: 1, nodeId: 'n1'}),
  ]
  stub.swarm.taskPolls = [tasks(), tasks(), tasks()]
  return stub
}

const HA: HaSettings = {
  members: [1, 2, 3].map((i) => ({node: `t-node${i}`, pg: `pg${i}`, etcd: `etcd${i}`})),
  durability: 'sync',
} as unknown as HaSettings

describe('swarm protection: no WAL archiving, stated by status and doctor', () => {
  it('status of a single db: no archiving, the volume on its node, no point-in-time restore, the dump command', async () => {
    const {sw} = await deployed()
    const status = await swarmStackStatus(sw)
    expect(status.protection).to.deep.equal({
      continuousArchiving: false,
      pointInTimeRestore: false,
      copies: 'volume',
      detail:
        'no continuous archiving on the swarm target: the data is only in volume demo_postgres_data on node t-node2, so losing that node or volume loses every visit since your last dump, and there is no point-in-time restore; volume backup writes a pg_dump to this machine',
      fix: `stackctl volume backup --dir ${sw.stack.paths.dir} --project-name demo --target swarm --docker-host unix:///state/swarms/t/node1/docker.sock`,
    })
    const lines = describeSwarmStatus(status)
    expect(lines).to.include(`protection: ${status.protection.detail}`)
    expect(lines.at(-1)).to.equal(`  take a copy: ${status.protection.fix}`)
    // --json: the same object under swarm.protection.
    expect(swarmStatusReport(status).swarm?.protection).to.deep.equal(status.protection)
  })

  it("the dump command carries the stack's --dir, --project-name and the swarm's --docker-host (runs as printed)", async () => {
    const {sw} = await deployed({local: false, flags: {project: 'shop'}})
    const {protection} = await swarmStackStatus(sw)
    expect(protection.fix).to.equal(
      `stackctl volume backup --dir ${sw.stack.paths.dir} --project-name shop --target swarm --docker-host tcp://manager.example:2376`,
    )
    expect(protection.detail).to.include('volume shop_postgres_data on node t-node2')
    // Control: the same stack before its db is pinned names no node (nothing is made up).
    const unpinned = await deployed({local: false, flags: {project: 'shop'}})
    delete unpinned.swarm.nodeList[1].labels[dbNodeLabel('shop')]
    expect((await swarmStackStatus(unpinned.sw)).protection.detail).to.include(
      "volume shop_postgres_data on the db's node",
    )
  })

  it('the HA database: the Patroni members’ copies, what they do not cover, and the dump command (of the leader)', () => {
    const protection = swarmProtection({
      ha: true,
      dbNode: '',
      volume: 'demo_pg1_data, demo_pg2_data, demo_pg3_data',
      backupCommand: 'stackctl volume backup --target swarm',
    })
    expect(protection).to.include({
      copies: 'replicas',
      continuousArchiving: false,
      pointInTimeRestore: false,
      fix: 'stackctl volume backup --target swarm',
    })
    expect(protection.detail).to.include("the Patroni members' volumes (demo_pg1_data, demo_pg2_data, demo_pg3_data)")
    expect(protection.detail).to.include('a row deleted or a table dropped is gone on every member')
    expect(protection.detail).to.include('volume backup writes a pg_dump of the leader to this machine')
    expect(protectionCheck(protection)).to.deep.equal({
      name: 'archiving',
      status: 'warn',
      detail: protection.detail,
      fix: 'stackctl volume backup --target swarm',
    })
  })

  it('status with the HA settings reports the members’ volumes (through the HA status path)', async () => {
    const {sw} = await stubSwarmContext({local: false})
    sw.swarmState = {stackId: '0123456789abcdef', ha: HA} as unknown as typeof sw.swarmState
    const status = await swarmStackStatus(sw)
    expect(status.deployed).to.equal(false)
    expect(status.protection.copies).to.equal('replicas')
    expect(status.protection.detail).to.include('demo_pg1_data, demo_pg2_data, demo_pg3_data')
  })

  it('doctor: an archiving warning with the dump command as its fix; the report still passes', async () => {
    const {sw} = await deployed({local: false})
    const report = await swarmDoctor(sw)
    const archiving = report.checks.find((check) => check.name === 'archiving')
    expect(archiving).to.deep.equal({
      name: 'archiving',
      status: 'warn',
      detail: (await swarmStackStatus(sw)).protection.detail,
      fix: `stackctl volume backup --dir ${sw.stack.paths.dir} --project-name demo --target swarm --docker-host tcp://manager.example:2376`,
    })
    expect(report.checks.map((check) => `${check.name} ${check.status}`)).to.deep.equal([
      'manager ok',
      'nodes ok',
      'stack ok',
      'archiving warn',
    ])
    expect(report.passed).to.equal(true)
    const text = describeDoctor(report)
    expect(text).to.include(`warn  archiving  ${archiving!.detail}`)
    expect(text).to.include(`                fix: ${archiving!.fix}`)
    expect(text.at(-1)).to.equal('all checks passed')
  })

  it('negative control: the same warning does not hide a failure (a node down still fails the report)', async () => {
    const {sw, swarm} = await deployed({local: false})
    swarm.nodeList[2].state = 'down'
    const report = await swarmDoctor(sw)
    expect(report.passed).to.equal(false)
    expect(report.checks.find((check) => check.name === 'nodes')?.status).to.equal('fail')
    expect(report.checks.find((check) => check.name === 'archiving')?.status).to.equal('warn')
  })

  it('doctor without an answering manager still states the limit (as a warning, not a check it could not run)', async () => {
    const {sw, manager} = await deployed({local: false})
    manager.ping = async () => {
      throw new Error('Cannot connect to the Docker daemon')
    }
    const report = await swarmDoctor(sw)
    expect(report.checks.at(-1)).to.include({name: 'archiving', status: 'warn'})
    expect(report.checks.at(-1)?.detail).to.include("on the db's node")
  })
})
