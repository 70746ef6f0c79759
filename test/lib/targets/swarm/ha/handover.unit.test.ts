import {expect} from 'chai'

import {handoverProblems, readyForFault} from '../../../../../src/lib/targets/swarm/ha/failover.js'
import {nodeLossVerdict} from '../../../../../src/lib/targets/swarm/ha/members.js'

describe('handover judgement: the old leader rejoins, never two primaries (pure)', () => {
  const clean = {oldLeaderRejoined: true, maxLeadersSeen: 1, leaderAfter: 'pg1'}

  it('finds nothing wrong in a clean handover (the control)', () => {
    expect(handoverProblems(clean, 'pg3')).to.deep.equal([])
    expect(handoverProblems(clean, 'pg3', {node: 'sw-node3', tookWrites: false})).to.deep.equal([])
  })

  it('names a cut-off old leader whose PostgreSQL still took writes beside the new leader (split brain)', () => {
    const problems = handoverProblems({...clean, maxLeadersSeen: 2}, 'pg3', {node: 'sw-node3', tookWrites: true})
    expect(problems).to.deep.equal(['pg3, cut off on sw-node3, still took writes as a primary while pg1 led'])
  })

  it('names two members leading at once by Patroni’s store, and an old leader that never rejoined', () => {
    expect(handoverProblems({...clean, maxLeadersSeen: 2}, 'pg3')).to.deep.equal([
      '2 members reported themselves leader at once',
    ])
    expect(handoverProblems({...clean, oldLeaderRejoined: false}, 'pg3')).to.deep.equal([
      "pg3 did not rejoin as a replica on the leader's timeline",
    ])
  })
})

describe('readyForFault: a fault is injected only where the cluster says it can take one (pure)', () => {
  const member = (name: string, role: string, state = 'streaming', timeline = 4) => ({
    name,
    role,
    state,
    timeline,
    lagBytes: role === 'leader' ? null : 0,
    node: `n-${name}`,
  })
  const sync = (members: ReturnType<typeof member>[]) => ({
    durability: 'sync' as const,
    members,
    canLoseNode: nodeLossVerdict(members, 'sync'),
  })

  it('is ready with a quorum standby streaming from the leader (the control)', () => {
    expect(readyForFault(sync([member('pg2', 'leader', 'running'), member('pg1', 'quorum_standby')]))).to.equal(true)
  })

  it('waits right after a switchover, while the new leader names no synchronous standby yet', () => {
    // Seen: a kill in that window left no member Patroni may promote (strict synchronous mode).
    const members = [member('pg2', 'leader', 'running'), member('pg1', 'replica'), member('pg3', 'replica')]
    expect(readyForFault(sync(members))).to.equal(false)
  })

  it('with async durability (never "safe"), is ready once a replica streams on the leader’s timeline', () => {
    const async = (members: ReturnType<typeof member>[]) => ({
      durability: 'async' as const,
      members,
      canLoseNode: nodeLossVerdict(members, 'async'),
    })
    expect(readyForFault(async([member('pg2', 'leader', 'running'), member('pg1', 'replica')]))).to.equal(true)
    expect(readyForFault(async([member('pg2', 'leader', 'running'), member('pg1', 'replica', 'starting')]))).to.equal(
      false,
    )
    expect(
      readyForFault(async([member('pg2', 'leader', 'running'), member('pg1', 'replica', 'streaming', 3)])),
    ).to.equal(false)
  })
})
