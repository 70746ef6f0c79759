import {expect} from 'chai'

import {handoverProblems} from '../../../../../src/lib/targets/swarm/ha/failover.js'

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
