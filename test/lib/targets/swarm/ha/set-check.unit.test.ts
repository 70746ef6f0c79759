import {expect} from 'chai'

import {durabilityInForce} from '../../../../../src/lib/targets/swarm/ha/members.js'
import {newRowsBeyondAttempts} from '../../../../../src/lib/targets/swarm/ha/set-check.js'

describe('failover check: set check and durability (pure parts)', () => {
  it('final ⊆ attempted: no more new rows than attempts, counting only rows newer than before the check', () => {
    expect(newRowsBeyondAttempts([1, 2, 10, 11, 12], 2, 3)).to.equal(undefined)
    expect(newRowsBeyondAttempts([10, 11, 12, 13], 2, 3)).to.match(/4 new visits are stored but only 3 were attempted/)
    expect(newRowsBeyondAttempts([], 0, 0)).to.equal(undefined)
  })

  it('reads the durability in force from Patroni /config', () => {
    expect(durabilityInForce({synchronous_mode: 'quorum'})).to.equal('sync')
    expect(durabilityInForce({synchronous_mode: true})).to.equal('sync')
    expect(durabilityInForce({synchronous_mode: false})).to.equal('async')
    expect(durabilityInForce({synchronous_mode: 'off'})).to.equal('async')
    expect(durabilityInForce({})).to.equal(undefined)
  })
})
