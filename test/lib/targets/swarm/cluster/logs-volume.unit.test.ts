import {expect} from 'chai'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {swarmLogs} from '../../../../../src/lib/targets/swarm/cluster/logs.js'
import {
  backupSwarmVolume,
  inspectSwarmVolume,
  restoreSwarmVolume,
} from '../../../../../src/lib/targets/swarm/cluster/volume.js'
import {LABELS} from '../../../../../src/lib/model/config/labels.js'
import {StackctlError, UsageError} from '../../../../../src/lib/errors.js'
import {swarmCommand} from '../../../../../src/lib/targets/swarm/cluster/context.js'
import type {HaSettings} from '../../../../../src/lib/targets/swarm/ha/spec.js'
import {stubSwarmContext} from '../../../../support/stub-swarm-context.js'
import {stubTask} from '../../../../support/stub-swarm.js'

const STATE = {
  stackId: 'stack-1',
  endpoint: 'unix:///state/swarms/t/node1/docker.sock',
  dbNode: 't-node2',
  replicas: 3,
  secretVersion: 1,
  passwordSha256: 'abc',
}

async function failure(promise: Promise<unknown>): Promise<StackctlError> {
  return promise.then(
    () => expect.fail('expected a refusal'),
    (e: StackctlError) => e,
  )
}

async function deployed(options: {local?: boolean; stackId?: string; services?: string[]} = {}) {
  const stub = await stubSwarmContext({local: options.local, swarmState: STATE})
  const labels = {[LABELS.stackId]: options.stackId ?? 'stack-1'}
  stub.swarm.serviceList = (options.services ?? ['db', 'app']).map((s, i) => ({
    id: `s${i}`,
    name: `demo_${s}`,
    replicas: 1,
    labels,
  }))
  return stub
}

describe('swarm logs', () => {
  it('reads each deployed service’s logs through the manager, db first, with the options given', async () => {
    const {sw, managerCli} = await deployed()
    managerCli.answer((args) => ({stdout: `line of ${args.at(-1)}\n`}))
    const lines: string[] = []
    await swarmLogs(sw, undefined, {tail: 50, onLine: (l) => lines.push(l)})
    expect(managerCli.calls).to.deep.equal([
      'service logs --no-trunc --tail 50 demo_db',
      'service logs --no-trunc --tail 50 demo_app',
    ])
    expect(lines).to.deep.equal(['line of demo_db', 'line of demo_app'])
  })

  it('reads only the service named, and skips one that is not deployed', async () => {
    const one = await deployed()
    await swarmLogs(one.sw, 'app', {follow: true, onLine: () => {}})
    expect(one.managerCli.calls).to.deep.equal(['service logs --no-trunc --follow demo_app'])
    const dbOnly = await deployed({services: ['db']})
    await swarmLogs(dbOnly.sw, undefined, {onLine: () => {}})
    expect(dbOnly.managerCli.calls).to.deep.equal(['service logs --no-trunc demo_db'])
  })

  it('refuses a stack that is not deployed, saying how to deploy it, reading nothing', async () => {
    const {sw, managerCli} = await stubSwarmContext()
    const error = await failure(swarmLogs(sw, undefined, {onLine: () => {}}))
    expect(error.message).to.equal(`the stack 'demo' is not deployed on ${sw.target.endpoint}, so there are no logs`)
    expect(error.suggestion).to.equal(`deploy it with ${swarmCommand(sw, 'up')}`)
    expect(managerCli.calls).to.deep.equal([])
  })
})

describe('swarm volume: where the data is, and what is refused', () => {
  it('inspect refuses a db pinned to no node: no data volume on this swarm', async () => {
    const {sw} = await deployed()
    const error = await failure(inspectSwarmVolume(sw))
    expect(error.message).to.equal(
      "the db of 'demo' is not pinned to a node of this swarm, so it has no data volume here",
    )
  })

  it('backup refuses a stack that is not deployed (exit 1) or deployed from another directory (exit 2)', async () => {
    const none = await stubSwarmContext({swarmState: STATE})
    const missing = await failure(backupSwarmVolume(none.sw, {file: '/tmp/x.dump'} as never))
    expect(missing.message).to.equal(
      `stack 'demo' is not deployed on ${none.sw.target.endpoint}, so there is no database to back up`,
    )
    expect(missing.exitCode).to.equal(1)
    const other = await deployed({stackId: 'someone-else'})
    const foreign = await failure(restoreSwarmVolume(other.sw, {file: '/tmp/x.dump'} as never))
    expect(foreign.message).to.equal(
      `stack 'demo' on ${other.sw.target.endpoint} was not deployed from ${other.sw.stack.paths.dir}`,
    )
    expect(foreign.exitCode).to.equal(2)
  })

  it('refuses while the db task is not running, pointing at status', async () => {
    const {sw, swarm} = await deployed()
    swarm.taskPolls = [[stubTask({serviceName: 'demo_db', state: 'starting', nodeId: 'n2'})]]
    const error = await failure(backupSwarmVolume(sw, {file: '/tmp/x.dump'} as never))
    expect(error.message).to.equal("the db of 'demo' is not running on the swarm")
    expect(error.suggestion).to.equal(`see ${swarmCommand(sw, 'status')}`)
  })

  it('on a remote swarm reaches only the manager’s engine: a db on a worker is refused with --docker-host', async () => {
    const {sw, swarm} = await deployed({local: false})
    swarm.taskPolls = [[stubTask({serviceName: 'demo_db', state: 'running', nodeId: 'n2', containerId: 'c1'})]]
    const error = await failure(backupSwarmVolume(sw, {file: '/tmp/x.dump'} as never))
    expect(error).to.be.instanceOf(UsageError)
    expect(error.message).to.equal('the db runs on t-node2, whose engine cannot be reached from here')
    expect(error.suggestion).to.equal("run the command with --docker-host <t-node2's engine>")
  })

  const HA: HaSettings = {
    members: [1, 2, 3].map((i) => ({node: `t-node${i}`, pg: `pg${i}`, etcd: `etcd${i}`})),
    durability: 'sync',
  }

  /** An HA stack whose members all run (pgN on t-nodeN, container c-pgN); Patroni names `leader` as the leader. */
  async function haDeployed(leader: string | null) {
    const stub = await stubSwarmContext({swarmState: {...STATE, dbNode: '', ha: HA}})
    stub.swarm.serviceList = ['pg1', 'pg2', 'pg3', 'router', 'app'].map((s, i) => ({
      id: `s${i}`,
      name: `demo_${s}`,
      replicas: 1,
      labels: {[LABELS.stackId]: 'stack-1'},
    }))
    stub.swarm.taskPolls = [
      [1, 2, 3].map((i) =>
        stubTask({serviceName: `demo_pg${i}`, state: 'running', nodeId: `n${i}`, containerId: `c-pg${i}`}),
      ),
    ]
    const members = [1, 2, 3].map((i) => ({
      name: `pg${i}`,
      role: `pg${i}` === leader ? 'leader' : 'quorum_standby',
      state: `pg${i}` === leader ? 'running' : 'streaming',
      timeline: 1,
    }))
    // Patroni's /cluster and /config, as a member's REST API answers status's probe.
    stub.hostCli.answer((args) =>
      args.includes('python3')
        ? {stdout: JSON.stringify({cluster: {members}, config: {synchronous_mode: 'quorum'}})}
        : undefined,
    )
    return stub
  }

  it('on an HA stack, backs up from the current leader as the postgres user (peer authentication), naming it', async () => {
    const {sw, manager, progress} = await haDeployed('pg2')
    // The stub answers no psql: the backup stops at its first query, which shows where and as whom it ran.
    await failure(backupSwarmVolume(sw, {file: '/tmp/x.dump'} as never))
    expect(progress).to.include('backup: from demo_pg2.1 on t-node2 (the leader)')
    expect(manager.calls.filter((c) => c.startsWith('exec'))).to.deep.equal(['exec c-pg2 psql as postgres'])
  })

  it('on an HA stack, restores into the current leader, saying the other members receive it by replication', async () => {
    const {sw, manager, progress} = await haDeployed('pg3')
    const dir = await mkdtemp(path.join(tmpdir(), 'ha-restore-'))
    const file = path.join(dir, 'x.dump')
    await writeFile(file, 'not a dump')
    try {
      await failure(restoreSwarmVolume(sw, {file} as never))
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
    expect(progress).to.include(
      'restore: into demo_pg3.1 on t-node3 (the leader; the other members receive it by replication)',
    )
    // pg_restore --list of the file, in its stdin-draining shell: the first thing run in the leader.
    expect(manager.calls.filter((c) => c.startsWith('exec'))).to.deep.equal(['exec c-pg3 sh as postgres'])
  })

  it('on an HA stack with no leader, refuses in one line that says so and points at status, running nothing', async () => {
    const {sw, manager} = await haDeployed(null)
    const error = await failure(backupSwarmVolume(sw, {file: '/tmp/x.dump'} as never))
    expect(error.message).to.match(/^cannot back up: no member of the HA database of 'demo' leads now \(leader none; /)
    expect(error.suggestion).to.equal(`see ${swarmCommand(sw, 'status')}; run this again once a member leads`)
    expect(manager.calls.filter((c) => c.startsWith('exec'))).to.deep.equal([])
  })

  it('the single db is still dumped as the container’s own user (its image lets root in)', async () => {
    const {sw, swarm, manager} = await deployed()
    swarm.taskPolls = [[stubTask({serviceName: 'demo_db', state: 'running', nodeId: 'n2', containerId: 'c-db'})]]
    await failure(backupSwarmVolume(sw, {file: '/tmp/x.dump'} as never))
    expect(manager.calls.filter((c) => c.startsWith('exec'))).to.deep.equal(['exec c-db psql'])
  })
})
