import {expect} from 'chai'

import {
  snapshotProblems,
  verificationProblems,
  type Verification,
} from '../../../../src/lib/operations/verify/checks.js'
import type {Snapshot} from '../../../../src/lib/operations/verify/sql.js'

function snap(total: number, maxId: number, checksum = 'a'.repeat(32)): Snapshot {
  return {total, maxId, checksum}
}

const BASELINE = snap(5, 5, 'b'.repeat(32))
const SNAPSHOT = snap(105, 105)

function verification(overrides: Partial<Verification> = {}): Verification {
  return {
    mode: 'down',
    baseline: BASELINE,
    reference: SNAPSHOT,
    written: {attempted: 100, acknowledged: 100},
    after: snap(105, 105),
    old: snap(105, 105),
    missing: [],
    systemIdentifierBefore: '7311',
    systemIdentifierAfter: '7311',
    ...overrides,
  }
}

describe('persistence checks', () => {
  it('snapshotProblems: before teardown the table holds exactly baseline + acknowledged', () => {
    expect(snapshotProblems(BASELINE, SNAPSHOT, 100)).to.deep.equal([])
    expect(snapshotProblems(BASELINE, snap(107, 107), 100)).to.deep.equal([
      'before teardown the database held 107 visits, expected 105 (5 before + 100 acknowledged)',
    ])
  })

  it('passes when everything adds up', () => {
    expect(verificationProblems(verification())).to.deep.equal([])
  })

  it('lists missing ids, the first 20 of them', () => {
    const missing = Array.from({length: 25}, (_, i) => 81 + i)
    const [problem] = verificationProblems(verification({missing, after: snap(80, 80), old: snap(80, 80)}))
    expect(problem).to.equal(
      `25 of 100 acknowledged visits are missing after the relaunch: ids ${missing.slice(0, 20).join(', ')}, … 5 more`,
    )
  })

  it('fails changed old rows even when the count is right', () => {
    const problems = verificationProblems(verification({old: snap(105, 105, 'c'.repeat(32))}))
    expect(problems).to.deep.equal([
      `the 105 rows up to id 105 that existed before teardown changed: now 105 rows, checksum ${'a'.repeat(32)} → ${'c'.repeat(32)}`,
    ])
  })

  it('fails a total that differs from the one before teardown', () => {
    expect(verificationProblems(verification({after: snap(106, 106)}))).to.deep.equal([
      'after the relaunch the database holds 106 visits, 105 before teardown',
    ])
  })

  it('fails a re-initialised database', () => {
    expect(verificationProblems(verification({systemIdentifierAfter: '7399'}))[0]).to.match(
      /^the database was initialised anew \(system identifier 7311 → 7399\)/,
    )
  })

  describe('kill mode: acknowledged ≤ new rows ≤ attempted', () => {
    const kill = (fresh: number) =>
      verificationProblems(
        verification({
          mode: 'kill',
          reference: BASELINE,
          old: BASELINE,
          written: {attempted: 120, acknowledged: 70},
          after: snap(5 + fresh, 5 + fresh),
        }),
      )

    it('accepts commits whose replies were lost', () => {
      expect(kill(70)).to.deep.equal([])
      expect(kill(74)).to.deep.equal([])
      expect(kill(120)).to.deep.equal([])
    })

    it('fails fewer rows than acknowledgements, or more than attempts', () => {
      expect(kill(69)[0]).to.equal(
        'after the kill the database holds 69 new visits; expected at least the 70 acknowledged and at most the 120 attempted',
      )
      expect(kill(121)).to.have.length(1)
    })
  })
})
