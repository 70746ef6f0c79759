import {expect} from 'chai'

import {writeOutage} from '../../../../../src/lib/targets/swarm/ha/failover.js'
import {durabilityInForce} from '../../../../../src/lib/targets/swarm/ha/members.js'
import {newRowsBeyondAttempts} from '../../../../../src/lib/targets/swarm/ha/set-check.js'

describe('failover check: set check, outage and durability (pure parts)', () => {
  it('final ⊆ attempted: no more new rows than attempts, counting only rows newer than before the check', () => {
    expect(newRowsBeyondAttempts([1, 2, 10, 11, 12], 2, 3)).to.equal(undefined)
    expect(newRowsBeyondAttempts([10, 11, 12, 13], 2, 3)).to.match(/4 new visits are stored but only 3 were attempted/)
    expect(newRowsBeyondAttempts([], 0, 0)).to.equal(undefined)
  })

  it('measures the write outage from the first failure after the fault to the next acknowledged write', () => {
    const outcomes = [
      {atMs: 1000, ok: false}, // before the fault: not counted
      {atMs: 2000, ok: true},
      {atMs: 3000, ok: false},
      {atMs: 4000, ok: false},
      {atMs: 24_500, ok: true},
      {atMs: 25_000, ok: false},
    ]
    expect(writeOutage(outcomes, 1500)).to.equal(21.5)
    expect(writeOutage(outcomes.slice(0, 4), 1500)).to.equal(null)
    expect(writeOutage([{atMs: 2000, ok: true}], 1500)).to.equal(0)
  })

  it('reads the durability in force from Patroni /config', () => {
    expect(durabilityInForce({synchronous_mode: 'quorum'})).to.equal('sync')
    expect(durabilityInForce({synchronous_mode: true})).to.equal('sync')
    expect(durabilityInForce({synchronous_mode: false})).to.equal('async')
    expect(durabilityInForce({synchronous_mode: 'off'})).to.equal('async')
    expect(durabilityInForce({})).to.equal(undefined)
  })
})
