import {expect} from 'chai'

import {EnvironmentError, UsageError} from '../../../../../src/lib/errors.js'
import {type HaMemberStatus, nodeLossVerdict} from '../../../../../src/lib/targets/swarm/ha/members.js'
import type {HaStatus} from '../../../../../src/lib/targets/swarm/ha/status.js'
import {planSwitchover} from '../../../../../src/lib/targets/swarm/ha/switchover.js'

const AGAIN = 'stackctl status --target swarm'

function member(name: string, role: string, change: Partial<HaMemberStatus> = {}): HaMemberStatus {
  const state = role === 'leader' ? 'running' : 'streaming'
  return {
    name,
    role,
    state,
    timeline: 2,
    lagBytes: role === 'leader' ? null : 0,
    node: `demo-node${name.slice(2)}`,
    ...change,
  }
}

function status(members: HaMemberStatus[], durability: HaStatus['durability'] = 'sync'): HaStatus {
  const leader = members.find((m) => m.role === 'leader')?.name ?? null
  return {durability, members, leader, canLoseNode: nodeLossVerdict(members, durability), error: null}
}

/** The error planSwitchover throws, of its type (it throws synchronously). */
function refusal(run: () => unknown): Error {
  try {
    run()
  } catch (error) {
    return error as Error
  }
  throw new Error('expected a refusal, got a plan')
}

const healthy = () =>
  status([
    member('pg1', 'leader'),
    member('pg2', 'quorum_standby', {lagBytes: 8192}),
    member('pg3', 'quorum_standby', {lagBytes: 0}),
  ])

describe('planSwitchover (db switchover, and the failover check off node 1)', () => {
  it('hands over to the named member, or to the member on the named node', () => {
    expect(planSwitchover(healthy(), 'pg2', AGAIN)).to.deep.equal({
      from: {member: 'pg1', node: 'demo-node1'},
      to: {member: 'pg2', node: 'demo-node2'},
      alternatives: [],
    })
    expect(planSwitchover(healthy(), 'demo-node3', AGAIN).to).to.deep.equal({member: 'pg3', node: 'demo-node3'})
  })

  it('without --to picks the synchronous standby least behind, the other eligible one next', () => {
    const plan = planSwitchover(healthy(), undefined, AGAIN)
    expect(plan.to.member).to.equal('pg3')
    expect(plan.alternatives).to.deep.equal([{member: 'pg2', node: 'demo-node2'}])
    // Control: a member that could lack acknowledged visits is never an alternative.
    const members = [
      member('pg1', 'leader'),
      member('pg2', 'quorum_standby', {state: 'starting'}),
      member('pg3', 'quorum_standby'),
    ]
    expect(planSwitchover(status(members), undefined, AGAIN).alternatives).to.deep.equal([])
  })

  it('refuses the leader itself and an unknown name, listing the members it takes (exit 2)', () => {
    const self = refusal(() => planSwitchover(healthy(), 'pg1', AGAIN))
    expect(self).to.be.instanceOf(UsageError)
    expect(self.message).to.equal('pg1 on demo-node1 already leads: nothing to switch')
    const unknown = refusal(() => planSwitchover(healthy(), 'pg9', AGAIN)) as UsageError
    expect(unknown).to.be.instanceOf(UsageError)
    expect(unknown.suggestion).to.include('pg2 (demo-node2), pg3 (demo-node3)')
  })

  it('refuses a member that could lack acknowledged visits: not streaming, another timeline, outside the quorum', () => {
    const cases: Array<[Partial<HaMemberStatus>, RegExp]> = [
      [{state: 'starting'}, /pg2 is starting, not streaming from pg1/],
      [{timeline: 1}, /pg2 is on timeline 1, the leader on 2/],
      [{role: 'replica'}, /pg2 is a replica, not a synchronous standby/],
    ]
    for (const [change, reason] of cases) {
      const members = [
        member('pg1', 'leader'),
        member('pg2', 'quorum_standby', change),
        member('pg3', 'quorum_standby'),
      ]
      const error = refusal(() => planSwitchover(status(members), 'pg2', AGAIN))
      expect(error, String(reason)).to.be.instanceOf(UsageError)
      expect(error.message).to.match(reason)
      // Control: the same member, unchanged, is a valid target.
      expect(planSwitchover(healthy(), 'pg2', AGAIN).to.member).to.equal('pg2')
    }
  })

  it('takes an asynchronous replica when replication is asynchronous (nothing is synchronous then)', () => {
    const members = [member('pg1', 'leader'), member('pg2', 'replica'), member('pg3', 'replica', {state: 'stopped'})]
    expect(planSwitchover(status(members, 'async'), undefined, AGAIN).to.member).to.equal('pg2')
    // Control: the same members under synchronous replication have no eligible standby.
    expect(refusal(() => planSwitchover(status(members, 'sync'), undefined, AGAIN)).message).to.match(
      /no member can take over from pg1 without losing visits: pg2 is a replica, not a synchronous standby.*; pg3 is stopped/,
    )
  })

  it('refuses without a single leader, pointing at status', () => {
    const none = refusal(() =>
      planSwitchover(status([member('pg1', 'replica'), member('pg2', 'replica')]), undefined, AGAIN),
    ) as EnvironmentError
    expect(none).to.be.instanceOf(EnvironmentError)
    expect(none.message).to.match(/^no member leads now/)
    expect(none.suggestion).to.equal(`see the members with: ${AGAIN}`)
    const two = refusal(() => planSwitchover(status([member('pg1', 'leader'), member('pg2', 'leader')]), 'pg2', AGAIN))
    expect(two.message).to.match(/2 members report themselves leader/)
  })
})
