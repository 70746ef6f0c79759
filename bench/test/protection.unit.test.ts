import {expect} from 'chai'

import {parseOptions} from '../options.js'
import {archivingCost, judgeCost, judgeRecoveryPoint, judgeTarget, sideOf, type Write} from '../protection-judge.js'
import {protectionSection, protectionTargets, updateProtectionText} from '../protection-report.js'
import {pairOrder, targetKinds, type ProtectionResult} from '../protection.js'
import {batchSql} from '../visit-writer.js'
import {checkedAt32} from './sample-results.js'

/** Visits 1-3 acknowledged by t=100, 4 sent at 150 and acknowledged at 250, 5-6 (a batch) sent at 300. */
const writes: Write[] = [
  {ids: [1], sentAt: 10, ackAt: 20},
  {ids: [2, 3], sentAt: 50, ackAt: 100},
  {ids: [4], sentAt: 150, ackAt: 250},
  {ids: [5, 6], sentAt: 300, ackAt: 320},
]

describe('bench: the protection step', () => {
  describe('a restore to a target', () => {
    it('a time target: acknowledged by then present, sent after it absent, the straddler either way', () => {
      const at200 = {from: 200, to: 200}
      expect(writes.map((w) => sideOf(w, at200))).to.deep.equal(['before', 'before', 'across', 'after'])
      for (const present of [
        [1, 2, 3],
        [1, 2, 3, 4],
      ]) {
        expect(judgeTarget(writes, at200, present)).to.deep.equal({
          expected: 3,
          eitherWay: 1,
          missing: [],
          extra: [],
          exact: true,
        })
      }
    })

    it('the straddle rule is inclusive where the server is: acknowledged at the instant counts as before', () => {
      expect(sideOf({ids: [1], sentAt: 50, ackAt: 100}, {from: 100, to: 100})).to.equal('before')
      expect(sideOf({ids: [1], sentAt: 100, ackAt: 120}, {from: 100, to: 100})).to.equal('across')
      expect(sideOf({ids: [1], sentAt: 100.001, ackAt: 120}, {from: 100, to: 100})).to.equal('after')
      // A write never answered, sent before the target: its id is unknown, so it can only be either way.
      expect(sideOf({ids: [], sentAt: 90}, {from: 100, to: 100})).to.equal('across')
    })

    it('negative control: a missing acknowledged id and an extra one (sent after, or never written) are reported', () => {
      const at200 = {from: 200, to: 200}
      expect(judgeTarget(writes, at200, [1, 3, 4, 5])).to.deep.include({missing: [2], extra: [5], exact: false})
      expect(judgeTarget(writes, at200, [1, 2, 3, 99])).to.deep.include({missing: [], extra: [99], exact: false})
    })

    it('a name or LSN taken with the writers paused: a window with nothing across it', () => {
      const mark = {from: 110, to: 140}
      expect(judgeTarget(writes, mark, [1, 2, 3])).to.deep.equal({
        expected: 3,
        eitherWay: 0,
        missing: [],
        extra: [],
        exact: true,
      })
      // Negative control: the first write after the mark restored is extra.
      expect(judgeTarget(writes, mark, [1, 2, 3, 4])).to.deep.include({extra: [4], exact: false})
    })
  })

  describe('the recovery point of a lost volume', () => {
    const loss = [...writes, {ids: [], sentAt: 330}]

    it('nothing lost: 0 s; an unanswered write in flight may have come back', () => {
      expect(judgeRecoveryPoint(loss, 330, [1, 2, 3, 4, 5, 6, 7], 10)).to.deep.equal({
        acknowledged: 6,
        lost: 0,
        lostSeconds: 0,
        unacknowledged: 1,
        invented: 0,
        pass: true,
      })
    })

    it('the lost seconds run from the oldest lost acknowledgement to the loss', () => {
      const judged = judgeRecoveryPoint(loss, 5250, [1, 2, 3], 10)
      expect(judged).to.deep.include({lost: 3, lostSeconds: 5, pass: true})
      // Negative control: the same loss judged against a 4 s promise fails.
      expect(judgeRecoveryPoint(loss, 5250, [1, 2, 3], 4).pass).to.equal(false)
    })

    it('negative control: ids beyond what the unanswered writes account for are invented, and fail', () => {
      const judged = judgeRecoveryPoint(loss, 330, [1, 2, 3, 4, 5, 6, 7, 8], 10)
      expect(judged).to.deep.include({invented: 1, pass: false})
    })

    it('an acknowledgement after the loss began counts as 0 s, not negative', () => {
      expect(judgeRecoveryPoint(writes, 310, [1, 2, 3, 4], 10)).to.deep.include({lost: 2, lostSeconds: 0})
    })
  })

  it("archiving's cost: 1 − the medians' ratio", () => {
    expect(archivingCost([950, 900, 1000], [1000, 990, 1010])).to.deep.include({
      medianOn: 950,
      medianOff: 1000,
      cost: 0.05,
      pairCosts: [0.05, 0.0909, 0.0099],
      spread: 0.081,
    })
  })

  it('the cost target is met only when the rounds agree more closely than the 5 % judged', () => {
    const steady = archivingCost([970, 980, 990, 975], [1000, 1000, 1000, 1000])
    expect(steady).to.deep.include({cost: 0.0225, spread: 0.015, medianOn: 977.5})
    expect(archivingCost([11201.1, 11201.1], [1, 1]).medianOn).to.equal(11201.1)
    expect(judgeCost(steady, 0.05)).to.deep.equal({pass: true, conclusive: true})
    // Negative controls: a steady 10 % cost fails; rounds all over the place prove nothing either way.
    expect(judgeCost(archivingCost([900, 900, 900], [1000, 1000, 1000]), 0.05)).to.deep.equal({
      pass: false,
      conclusive: true,
    })
    const noisy = archivingCost([6572, 8386, 3368, 7975, 8354], [6547, 3861, 5707, 10997, 4496])
    expect(noisy.cost).to.be.lessThan(0)
    expect(judgeCost(noisy, 0.05)).to.deep.equal({pass: false, conclusive: false})
  })

  it('noise that only ever favours archiving still judges the cost: no pair above the limit', () => {
    // The quiet run after fresh18: pairs from -18 % to +3.6 %, a middle half wider than 5 points.
    const favouring = archivingCost([11800, 10000, 10300, 9700], [10000, 10000, 10000, 10000])
    expect(favouring.spread).to.be.greaterThan(0.05)
    expect(Math.max(...favouring.pairCosts)).to.equal(0.03)
    expect(judgeCost(favouring, 0.05)).to.deep.equal({pass: true, conclusive: true})
    // Negative control: the same spread with one pair showing an 8 % cost proves nothing either way.
    const oneCostly = archivingCost([11800, 10000, 10300, 9200], [10000, 10000, 10000, 10000])
    expect(oneCostly.spread).to.be.greaterThan(0.05)
    expect(judgeCost(oneCostly, 0.05)).to.deep.equal({pass: false, conclusive: false})
  })

  it('the cost rounds alternate which stack goes first', () => {
    expect([0, 1, 2, 3].map(pairOrder)).to.deep.equal([
      [true, false],
      [false, true],
      [true, false],
      [false, true],
    ])
  })

  it('targets mix the three kinds evenly, in random order', () => {
    const kinds = targetKinds(20, () => 0)
    expect(kinds.filter((k) => k === 'time')).to.have.length(7)
    expect(kinds.filter((k) => k === 'name')).to.have.length(7)
    expect(kinds.filter((k) => k === 'lsn')).to.have.length(6)
    expect(targetKinds(3).toSorted()).to.deep.equal(['lsn', 'name', 'time'])
  })

  it('a psql batch inserts its rows and bumps the counter by as many, in one statement', () => {
    const sql = batchSql(1667)
    expect(sql).to.include('generate_series(1, 1667)').and.include('SET n = n + 1667 WHERE shard = 0')
    expect(sql.split(';')).to.have.length(1)
  })

  it('--only protection writes only with --write; --write elsewhere is a usage error', () => {
    expect(parseOptions(['--only', 'protection'])).to.include({only: 'protection', write: false, runs: 5, targets: 20})
    expect(parseOptions(['--only', 'protection', '--write', '--runs', '1', '--targets', '3'])).to.include({
      write: true,
      runs: 1,
      targets: 3,
    })
    expect(() => parseOptions(['--only', 'idle', '--write'])).to.throw(
      /--write goes with --only engines, --only protection or --only ha/,
    )
    expect(parseOptions([])).to.include({write: true})
  })

  describe('the report', () => {
    const load = (rps: number) => checkedAt32(rps)
    const result = (): ProtectionResult => ({
      startedAt: '2026-12-07T05:00:00.000Z',
      finishedAt: '2026-12-07T05:30:00.000Z',
      loadavgBefore: [2, 3, 4],
      loadavgAfter: [3, 3, 4],
      archiveTimeoutSeconds: 10,
      cost: {
        ...archivingCost([980, 990, 970], [1000, 1000, 1000]),
        connections: 32,
        seconds: 10,
        rounds: [load(980), load(1000)].map((l, i) => ({archiving: i === 0, load: l})),
        exact: true,
      },
      recovery: {
        runs: [
          {
            acknowledged: 109000,
            written: 9000,
            lost: 0,
            lostSeconds: 0,
            unacknowledged: 16,
            invented: 0,
            pass: true,
            writes: 9016,
            restoreMs: 21000,
          },
        ],
        writeSeconds: 15,
        connections: 16,
      },
      pointInTime: {
        visitsBefore: 200_000,
        visits: 130_000,
        spanSeconds: 60.2,
        apiVisits: 30_000,
        batchVisits: 100_000,
        batches: 60,
        targets: [
          {
            kind: 'lsn',
            value: '0/5000060',
            atMs: 30_000,
            expected: 60_000,
            eitherWay: 0,
            missing: 0,
            extra: 0,
            restoreMs: 25_000,
          },
        ],
        minFreeGB: 70,
      },
      scale: {
        visits: 1_000_000,
        backupMs: 30_000,
        backupBytes: 40e6,
        restoreMs: 45_000,
        restoredVisits: 1_000_000,
        exact: true,
      },
    })

    it('renders the targets, each step and the load', () => {
      const p = result()
      const targets = protectionTargets(p)
      expect(targets.map((t) => t.pass)).to.deep.equal([true, true, true, true])
      const text = protectionSection(p, targets, 'bench/results/protection-x.json')
      expect(text).to.include('Load average 2 / 3 / 4 at the start')
      expect(text).to.include(
        'pair run back to back): 2 %, 1 %, 3 %; the median 2 %, the middle half spanning 2 points',
      )
      expect(targets[0].value).to.equal("2 %, rounds' middle half 2 %")
      expect(text).to.include('The 200000 visits already in the table')
      expect(text).to.include('| 1 | 9000 | 0 | 0 | 16 | 0 | 21 |')
      expect(text).to.include('| lsn | `0/5000060` | 30 | 60000 | 0 | 0 | 0 | 25 |')
      expect(text).to.include('`db restore --latest` took 45 s and brought back 1000000 visits')
    })

    it('negative control: one missing id, one invented id, a failed restore or inexact counts fail their target', () => {
      const p = result()
      p.pointInTime.targets[0].missing = 1
      p.recovery.runs[0] = {...p.recovery.runs[0], invented: 1, pass: false}
      p.scale.exact = false
      p.cost = {...p.cost, ...archivingCost([900], [1000])}
      expect(protectionTargets(p).map((t) => t.pass)).to.deep.equal([false, false, false, false])
      expect(protectionTargets(p)[2].value).to.equal('1 missing, 0 extra, 0 failed')
      p.cost = {...p.cost, ...archivingCost([1000, 500, 1000, 1500], [1000, 1000, 1000, 1000])}
      expect(protectionTargets(p)[0].value).to.equal("0 %, rounds' middle half 50 %: too noisy to judge")
      const failed = result()
      failed.pointInTime.targets = [{kind: 'time', value: 'x', atMs: 1, error: 'exit 1: refused'}]
      expect(protectionTargets(failed)[2]).to.deep.include({value: '0 missing, 0 extra, 1 failed', pass: false})
    })

    it('BENCHMARKS.md: the section is appended once under its heading, then replaced in place', () => {
      const once = updateProtectionText('# Benchmarks\n\n## History\n', 'first')
      expect(once).to.equal(
        '# Benchmarks\n\n## History\n\n## Protection\n\n<!-- bench:protection:start -->\nfirst\n<!-- bench:protection:end -->\n',
      )
      const twice = updateProtectionText(once, 'second')
      expect(twice).to.equal(once.replace('first', 'second'))
    })
  })
})
