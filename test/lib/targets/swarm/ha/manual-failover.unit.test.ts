import {expect} from 'chai'

import {EnvironmentError, UsageError} from '../../../../../src/lib/errors.js'
import {planFailover} from '../../../../../src/lib/targets/swarm/ha/manual-failover.js'
import {type HaMemberStatus, nodeLossVerdict} from '../../../../../src/lib/targets/swarm/ha/members.js'
import type {HaStatus} from '../../../../../src/lib/targets/swarm/ha/status.js'

const AGAIN = 'stackctl status --target swarm'

function member(name: string, role: string, change: Partial<HaMemberStatus> = {}): HaMemberStatus {
  return {
    name,
    role,
    state: role === 'leader' ? 'running' : 'streaming',
    timeline: 4,
    lagBytes: role === 'leader' ? null : 0,
    node: `demo-node${name.slice(2)}`,
    ...change,
  }
}

function status(members: HaMemberStatus[], durability: HaStatus['durability'] = 'sync'): HaStatus {
  const leader = members.find((m) => m.role === 'leader')?.name ?? null
  return {durability, members, leader, canLoseNode: nodeLossVerdict(members, durability), error: null}
}

function refusal(run: () => unknown): Error {
  try {
    run()
  } catch (error) {
    return error as Error
  }
  throw new Error('expected a refusal, got a plan')
}

/** The leader's node is gone: Patroni lists only the two replicas, which no longer stream. */
const leaderless = (pg2: Partial<HaMemberStatus> = {}, pg3: Partial<HaMemberStatus> = {}) => [
  member('pg2', 'quorum_standby', {state: 'running', lagBytes: 4096, ...pg2}),
  member('pg3', 'quorum_standby', {state: 'running', lagBytes: 0, ...pg3}),
]

describe('planFailover (db failover)', () => {
  it('without a leader promotes the synchronous standby least behind, or the named member or node', () => {
    expect(planFailover(status(leaderless()), undefined, AGAIN)).to.deep.equal({
      from: null,
      to: {member: 'pg3', node: 'demo-node3'},
      leaderHealthy: false,
    })
    expect(planFailover(status(leaderless()), 'demo-node2', AGAIN).to.member).to.equal('pg2')
  })

  it('refuses a member that could lack acknowledged visits: stopped, an older timeline, outside the quorum', () => {
    const cases: Array<[Partial<HaMemberStatus>, RegExp]> = [
      [{state: 'stopped'}, /cannot fail over to pg2: pg2 is stopped/],
      [{timeline: 3}, /cannot fail over to pg2: pg2 is on timeline 3, the newest is 4/],
      [{role: 'replica'}, /pg2 is a replica, not a synchronous standby: it may lack the last acknowledged visits/],
    ]
    for (const [change, reason] of cases) {
      const error = refusal(() => planFailover(status(leaderless(change)), 'pg2', AGAIN))
      expect(error, String(reason)).to.be.instanceOf(UsageError)
      expect(error.message).to.match(reason)
    }
    // Control: pg2 unchanged is promoted.
    expect(planFailover(status(leaderless()), 'pg2', AGAIN).to.member).to.equal('pg2')
  })

  it('without --to skips the ineligible member, and refuses when none is eligible (nothing asked of Patroni)', () => {
    expect(planFailover(status(leaderless({}, {role: 'replica'})), undefined, AGAIN).to.member).to.equal('pg2')
    const none = refusal(() =>
      planFailover(status(leaderless({state: 'stopped'}, {role: 'replica'})), undefined, AGAIN),
    )
    expect(none).to.be.instanceOf(UsageError)
    expect(none.message).to.match(
      /^no member can take over without losing acknowledged visits: pg2 is stopped; pg3 is a replica/,
    )
    // Control: asynchronous replication has no quorum to be in; the running replica is taken.
    expect(
      planFailover(status(leaderless({state: 'stopped'}, {role: 'replica'}), 'async'), undefined, AGAIN).to.member,
    ).to.equal('pg3')
  })

  it('replaces a leader that holds the key but does not run, naming it', () => {
    const members = [member('pg1', 'leader', {state: 'stopped'}), ...leaderless()]
    expect(planFailover(status(members), undefined, AGAIN)).to.deep.equal({
      from: {member: 'pg1', node: 'demo-node1'},
      to: {member: 'pg3', node: 'demo-node3'},
      leaderHealthy: false,
    })
    expect(refusal(() => planFailover(status(members), 'pg1', AGAIN)).message).to.equal(
      'pg1 holds the leadership already (stopped)',
    )
  })

  it('with a healthy leader follows the switchover plan and says so; its refusals too', () => {
    const members = [member('pg1', 'leader'), member('pg2', 'quorum_standby'), member('pg3', 'replica')]
    expect(planFailover(status(members), undefined, AGAIN)).to.deep.equal({
      from: {member: 'pg1', node: 'demo-node1'},
      to: {member: 'pg2', node: 'demo-node2'},
      leaderHealthy: true,
    })
    expect(refusal(() => planFailover(status(members), 'pg3', AGAIN)).message).to.match(
      /pg3 is a replica, not a synchronous standby/,
    )
    expect(refusal(() => planFailover(status(members), 'pg1', AGAIN)).message).to.match(/already leads/)
  })

  it('refuses two leaders and a cluster no member answered for', () => {
    const two = refusal(() =>
      planFailover(status([member('pg1', 'leader'), member('pg2', 'leader')]), undefined, AGAIN),
    )
    expect(two).to.be.instanceOf(EnvironmentError)
    expect(two.message).to.match(/^2 members report themselves leader \(pg1, pg2\)/)
    const silent = refusal(() => planFailover({...status([]), error: 'no member task is running'}, undefined, AGAIN))
    expect(silent).to.be.instanceOf(EnvironmentError)
    expect(silent.message).to.include('no member answered (no member task is running)')
  })
})
