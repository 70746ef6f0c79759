import {expect} from 'chai'

import {writeOutage} from '../../../../../src/lib/targets/swarm/ha/outage.js'

describe('write outage: the longest time after the fault with no write acknowledged (pure)', () => {
  it('counts from the fault to the first acknowledgement after it, outcomes before the fault ignored', () => {
    const outcomes = [
      {atMs: 1000, ok: false}, // before the fault
      {atMs: 1400, ok: true}, // before the fault
      {atMs: 3000, ok: false},
      {atMs: 4000, ok: false},
      {atMs: 21_500, ok: true},
      {atMs: 21_600, ok: true},
    ]
    expect(writeOutage(outcomes, 1500)).to.equal(20)
  })

  it('a failure answered at once by another client’s acknowledgement while a third hangs: the hang, not 0.001 s', () => {
    // The case seen in a kill-mode failover: client A fails at 2.000 s, client B's write (already past the
    // database) is acknowledged at 2.001 s, client C hangs until 22.001 s. The old measure said 0.001 s.
    const outcomes = [
      {atMs: 1000, ok: true},
      {atMs: 2000, ok: false},
      {atMs: 2001, ok: true},
      {atMs: 22_001, ok: true},
      {atMs: 22_050, ok: true},
    ]
    expect(writeOutage(outcomes, 1500)).to.equal(20)
  })

  it('takes the longest of several gaps, whichever client acknowledged, in completion order', () => {
    const outcomes = [
      {atMs: 9000, ok: true}, // recorded out of order: sorted by completion
      {atMs: 2000, ok: true},
      {atMs: 3000, ok: true},
      {atMs: 8000, ok: false},
    ]
    expect(writeOutage(outcomes, 1000)).to.equal(6)
  })

  it('counts writes failing from the last acknowledgement to the writer’s end', () => {
    const outcomes = [
      {atMs: 2000, ok: true},
      {atMs: 3000, ok: false},
      {atMs: 12_000, ok: false},
    ]
    expect(writeOutage(outcomes, 1000)).to.equal(10)
  })

  it('ends at the writer’s stop: a request still in flight that fails later opens no gap, one acknowledged later closes one', () => {
    const outcomes = [
      {atMs: 2000, ok: true},
      {atMs: 9000, ok: true}, // the stop is at 9100
      {atMs: 24_000, ok: false}, // in flight since before the fault, failed on its own timeout after the stop
    ]
    expect(writeOutage(outcomes, 1000, 9100)).to.equal(7)
    // Negative control: without the stop, the late failure reads as 15 s of outage.
    expect(writeOutage(outcomes, 1000)).to.equal(15)
    // Failing until the stop, then an acknowledgement of a request in flight: the gap runs to that answer.
    expect(
      writeOutage(
        [
          {atMs: 2000, ok: true},
          {atMs: 5000, ok: false},
          {atMs: 9500, ok: true},
        ],
        1000,
        9000,
      ),
    ).to.equal(7.5)
  })

  it('is null when no write was acknowledged after the fault, and short when none failed', () => {
    expect(
      writeOutage(
        [
          {atMs: 2000, ok: true},
          {atMs: 3000, ok: false},
        ],
        2500,
      ),
    ).to.equal(null)
    expect(writeOutage([], 0)).to.equal(null)
    expect(
      writeOutage(
        [
          {atMs: 1010, ok: true},
          {atMs: 1030, ok: true},
        ],
        1000,
      ),
    ).to.equal(0.02)
  })
})
