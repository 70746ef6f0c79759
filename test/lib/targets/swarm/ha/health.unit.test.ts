import {expect} from 'chai'

import {
  etcdQuorumCheck,
  type EtcdMemberHealth,
  MAX_LAG_ON_FAILOVER,
  patroniMembersCheck,
} from '../../../../../src/lib/targets/swarm/ha/health.js'
import {type HaMemberStatus, nodeLossVerdict} from '../../../../../src/lib/targets/swarm/ha/members.js'
import type {HaStatus} from '../../../../../src/lib/targets/swarm/ha/status.js'

const down = (names: string[]) => `restart ${names.join(' ')}`

type State = EtcdMemberHealth['state']
const PROBLEM: Record<State, string | undefined> = {
  healthy: undefined,
  down: 'no answer (container is paused)',
  unhealthy: 'RAFT NO LEADER',
}

function etcd(states: State[]): EtcdMemberHealth[] {
  return states.map((state, i) => ({
    name: `etcd${i + 1}`,
    node: `demo-node${i + 1}`,
    state,
    ...(PROBLEM[state] ? {problem: PROBLEM[state]} : {}),
  }))
}

describe('etcdQuorumCheck (doctor --target swarm)', () => {
  it('is ok with every member healthy, and gives no fix', () => {
    const check = etcdQuorumCheck(etcd(['healthy', 'healthy', 'healthy']), down)
    expect(check.status).to.equal('ok')
    expect(check.detail).to.equal('3/3 members healthy (etcd1, etcd2, etcd3), quorum 2')
    expect(check.fix).to.equal(undefined)
  })

  it('warns with 2 of 3: the quorum holds, one more loss stops failover; names the member down and why', () => {
    const check = etcdQuorumCheck(etcd(['healthy', 'healthy', 'down']), down)
    expect(check.status).to.equal('warn')
    expect(check.detail).to.equal(
      '2/3 members healthy: quorum holds; losing one more member stops failover; down: etcd3 on demo-node3 (no answer (container is paused))',
    )
    expect(check.fix).to.equal('restart etcd3')
  })

  it('fails below the quorum, naming the members down apart from the one that answers without a leader', () => {
    // Two paused: the third answers, but has no leader (as etcd 3.5 answered in the HA stack).
    const check = etcdQuorumCheck(etcd(['unhealthy', 'down', 'down']), down)
    expect(check.status).to.equal('fail')
    expect(check.detail).to.match(/^0\/3 members healthy, below the quorum of 2: Patroni can neither fail over/)
    expect(check.detail).to.include('down: etcd2 on demo-node2 (no answer (container is paused)), etcd3 on demo-node3')
    expect(check.detail).to.include('answering but unhealthy: etcd1 on demo-node1 (RAFT NO LEADER)')
    // Restarting the member that answers brings no quorum back: only those down are restarted.
    expect(check.fix).to.equal('restart etcd2 etcd3')
    expect(etcdQuorumCheck(etcd(['down', 'healthy', 'down']), down).status).to.equal('fail')
    // Control: one member down is not below the quorum.
    expect(etcdQuorumCheck(etcd(['healthy', 'healthy', 'down']), down).status).to.equal('warn')
  })
})

const fixes = {
  restart: (m: string) => `docker service update --force demo_${m}`,
  logs: (m: string) => `docker service logs --tail 50 demo_${m}`,
  status: 'stackctl status --target swarm',
}
const EXPECTED = ['pg1', 'pg2', 'pg3']

function member(name: string, role: string, change: Partial<HaMemberStatus> = {}): HaMemberStatus {
  return {
    name,
    role,
    state: role === 'leader' ? 'running' : 'streaming',
    timeline: 3,
    lagBytes: role === 'leader' ? null : 0,
    node: `demo-node${name.slice(2)}`,
    ...change,
  }
}

function status(members: HaMemberStatus[], durability: HaStatus['durability'] = 'sync'): HaStatus {
  return {
    durability,
    members,
    leader: members.find((m) => m.role === 'leader')?.name ?? null,
    canLoseNode: nodeLossVerdict(members, durability),
    error: null,
  }
}

const healthy = () => [member('pg1', 'leader'), member('pg2', 'quorum_standby'), member('pg3', 'quorum_standby')]
const patched = (name: string, change: Partial<HaMemberStatus>) =>
  healthy().map((m) => (m.name === name ? {...m, ...change} : m))

describe('patroniMembersCheck (doctor --target swarm)', () => {
  it('is ok with one leader and both synchronous standbys streaming on its timeline', () => {
    const check = patroniMembersCheck(status(healthy()), EXPECTED, fixes)
    expect(check.status).to.equal('ok')
    expect(check.detail).to.include('pg1 leads on demo-node1 (timeline 3)')
    expect(check.detail).to.include('pg2 quorum_standby lag 0 B, pg3 quorum_standby lag 0 B')
    expect(check.detail).to.include('every acknowledged visit is on two members')
    expect(check.fix).to.equal(undefined)
  })

  it('fails with no leader, and with two leaders (acknowledged visits at risk)', () => {
    const none = patroniMembersCheck(status(patched('pg1', {role: 'replica', state: 'stopped'})), EXPECTED, fixes)
    expect(none.status).to.equal('fail')
    expect(none.detail).to.match(/^no leader \(pg1 stopped, pg2 streaming, pg3 streaming\): writes fail/)
    expect(none.fix).to.equal('docker service logs --tail 50 demo_pg1')
    const two = patroniMembersCheck(status(patched('pg2', {role: 'leader', state: 'running'})), EXPECTED, fixes)
    expect(two.status).to.equal('fail')
    expect(two.detail).to.equal('2 members report themselves leader (pg1, pg2): acknowledged visits are at risk')
  })

  it('fails when no member answered', () => {
    const check = patroniMembersCheck({...status([]), error: 'no member task is running'}, EXPECTED, fixes)
    expect(check.status).to.equal('fail')
    expect(check.detail).to.include('no Patroni member answered (no member task is running)')
  })

  it('warns when a replica is absent, stopped or on another timeline, saying the visits are safe on the other', () => {
    const absent = patroniMembersCheck(status(healthy().filter((m) => m.name !== 'pg3')), EXPECTED, fixes)
    expect(absent.status).to.equal('warn')
    expect(absent.detail).to.include("pg3 is not in Patroni's cluster (not running)")
    expect(absent.detail).to.include('acknowledged visits are safe, also on pg2 (quorum commit)')
    expect(absent.fix).to.equal('docker service logs --tail 50 demo_pg3')

    const stopped = patroniMembersCheck(status(patched('pg2', {state: 'stopped'})), EXPECTED, fixes)
    expect(stopped.status).to.equal('warn')
    expect(stopped.detail).to.include('pg2 is stopped, not streaming').and.include('also on pg3')
    expect(stopped.fix).to.equal('docker service update --force demo_pg2')

    const timeline = patroniMembersCheck(status(patched('pg3', {timeline: 2})), EXPECTED, fixes)
    expect(timeline.status).to.equal('warn')
    expect(timeline.detail).to.include('pg3 is on timeline 2, pg1 on 3')
  })

  it('warns when a streaming replica is further behind than Patroni would promote; control: just under it is ok', () => {
    const behind = patroniMembersCheck(status(patched('pg2', {lagBytes: MAX_LAG_ON_FAILOVER + 1})), EXPECTED, fixes)
    expect(behind.status).to.equal('warn')
    expect(behind.detail).to.include('pg2 is 1.0 MiB behind, more than Patroni promotes (1.0 MiB)')
    const within = patroniMembersCheck(status(patched('pg2', {lagBytes: MAX_LAG_ON_FAILOVER})), EXPECTED, fixes)
    expect(within.status).to.equal('ok')
  })

  it('fails with synchronous durability and no synchronous standby: writes wait, acknowledged visits not at risk', () => {
    const members = [member('pg1', 'leader'), member('pg2', 'replica'), member('pg3', 'replica', {state: 'stopped'})]
    const check = patroniMembersCheck(status(members), EXPECTED, fixes)
    expect(check.status).to.equal('fail')
    expect(check.detail).to.include('no synchronous standby streams from pg1: writes wait until one does')
    expect(check.detail).to.include('acknowledged visits are not at risk')
    // Control: the same members with asynchronous replication wait for nothing: one replica streams, a warning.
    const async = patroniMembersCheck(status(members, 'async'), EXPECTED, fixes)
    expect(async.status).to.equal('warn')
    expect(async.detail).to.include('a failover can lose the last acknowledged visits')
  })

  it('asynchronous: ok with every replica streaming (saying what a failover can lose), fail with none', () => {
    const members = [member('pg1', 'leader'), member('pg2', 'replica'), member('pg3', 'replica')]
    const ok = patroniMembersCheck(status(members, 'async'), EXPECTED, fixes)
    expect(ok.status).to.equal('ok')
    expect(ok.detail).to.include('replication is asynchronous (--db-durability async)')
    const alone = [member('pg1', 'leader'), member('pg2', 'replica', {state: 'stopped'})]
    const check = patroniMembersCheck(status(alone, 'async'), EXPECTED, fixes)
    expect(check.status).to.equal('fail')
    expect(check.detail).to.include("no replica streams and replication is asynchronous: losing pg1's node loses")
    expect(check.fix).to.include('docker service update --force demo_pg2')
  })
})
