import {expect} from 'chai'

import {COUNTER_SHARDS} from '../../src/api/db.js'
import {assertLoopback} from '../api-load.js'
import {coldUpPhases} from '../cli-timing.js'
import {countDuplicateTotals, countMonotonicViolations, judgeExactness, type Reply} from '../exactness.js'
import {renderLatest} from '../markdown.js'
import {parsePgbench} from '../pgbench.js'
import {growSql} from '../scale.js'
import {median, percentile} from '../stats.js'
import {evaluateTargets} from '../targets.js'
import {sampleResults} from './sample-results.js'

const PGBENCH_OUTPUT = `transaction type: /tmp/stackctl-bench-visit.sql
number of clients: 32
number of transactions actually processed: 40058
number of failed transactions: 0 (0.000%)
latency average = 6.289 ms
initial connection time = 168.872 ms
tps = 5088.641549 (without initial connection time)
`

describe('bench measurements', () => {
  it('reads pgbench’s summary', () => {
    expect(parsePgbench(PGBENCH_OUTPUT)).to.deep.equal({
      tps: 5088.641549,
      latencyAvgMs: 6.289,
      transactions: 40058,
      failed: 0,
    })
  })

  it('spreads the grown rows exactly over the counter shards', () => {
    const sql = growSql(1_000_003, 16)
    expect(sql).to.include('generate_series(1, 1000003)')
    expect(sql).to.include('n = n + 62500 + CASE WHEN shard < 3 THEN 1 ELSE 0 END')
    expect(growSql(10)).to.include(
      `n = n + ${Math.floor(10 / COUNTER_SHARDS)} + CASE WHEN shard < ${10 % COUNTER_SHARDS} THEN 1 ELSE 0 END`,
    )
  })

  it('computes nearest-rank percentiles and medians', () => {
    const values = Array.from({length: 100}, (_, i) => i + 1)
    expect(percentile(values, 0.5)).to.equal(50)
    expect(percentile(values, 0.99)).to.equal(99)
    expect(median([3, 1, 2])).to.equal(2)
    expect(median([4, 1, 2, 3])).to.equal(2.5)
  })

  it('sends load only to 127.0.0.1', () => {
    expect(() => assertLoopback('http://127.0.0.1:5000/')).not.to.throw()
    expect(() => assertLoopback('http://10.0.0.1:5000/')).to.throw(/only 127.0.0.1/)
  })

  it('finds the cold up milestones in its progress lines', () => {
    const lines = [
      {atMs: 600, text: 'images: local (stackctl/postgres:17, stackctl/node:20), requested'},
      {atMs: 1000, text: ' Container p-db-1  Started'},
      {atMs: 3500, text: ' Container p-db-1  Healthy'},
      {atMs: 6400, text: ' Container p-app-1  Healthy'},
    ]
    const phases = coldUpPhases('p', {exitCode: 0, stdout: '', stderr: '', ms: 6500, lines})
    expect(phases.milestones.map((m) => m.name)).to.deep.equal([
      'checked and rendered',
      'db started',
      'db healthy',
      'app healthy',
    ])
  })

  it('judges every target, and fails the ones that miss', () => {
    const results = sampleResults()
    expect(evaluateTargets(results).every((t) => t.pass)).to.equal(true)
    results.api[1] = {...results.api[1], p99: 51, non2xx: 2}
    const failed = evaluateTargets(results).filter((t) => !t.pass)
    expect(failed.map((t) => t.name)).to.deep.equal([
      'GET / p99 at 32 connections',
      'non-2xx responses and errors (all API runs)',
    ])
  })

  it('fails the plain-INSERT share, the cold and busy runs and exactness when they miss', () => {
    const results = sampleResults()
    results.plainInsert = {...results.plainInsert!, tps: 8000}
    results.robustness!.runs[0].load = {...results.robustness!.runs[0].load, non2xx: 1}
    results.api[2] = {...results.api[2], exactness: {...results.api[2].exactness!, exact: false}}
    const failed = evaluateTargets(results).filter((t) => !t.pass)
    expect(failed.map((t) => t.name)).to.deep.equal([
      'API req/s at 32 connections vs pgbench TPS (plain single-row INSERT, 32 clients)',
      'non-2xx responses and errors (cold pool and busy machine runs)',
      'totals exact and monotonic (every checked run)',
    ])
    delete results.plainInsert
    delete results.robustness
    expect(evaluateTargets(results).filter((t) => !t.pass)).to.have.length(3)
  })

  it('renders the plain-INSERT reference and the cold and busy runs', () => {
    const results = sampleResults()
    const text = renderLatest(results, evaluateTargets(results), 'x.json')
    expect(text).to.include('INSERT INTO stackctl_bench_plain DEFAULT VALUES')
    expect(text).to.include('| cold | 200 | 3000 |')
    expect(text).to.include('yes (30000 replies, 0 non-monotonic, 0 duplicate; final 30001 = count(*) 30001)')
  })
})

describe('bench exactness check', () => {
  const reply = (sentAt: number, receivedAt: number, total: number): Reply => ({sentAt, receivedAt, total})

  it('accepts overlapping replies in any order and growing totals after arrivals', () => {
    const replies = [reply(0, 5, 2), reply(1, 4, 1), reply(6, 8, 3), reply(4.5, 9, 4)]
    expect(countMonotonicViolations(replies)).to.equal(0)
    expect(countDuplicateTotals(replies)).to.equal(0)
  })

  it('finds a reply that reports less than one that arrived before it was sent, and duplicate totals', () => {
    const replies = [reply(0, 1, 5), reply(2, 3, 4), reply(0.5, 6, 5)]
    expect(countMonotonicViolations(replies)).to.equal(1)
    expect(countDuplicateTotals(replies)).to.equal(1)
    const judged = judgeExactness(replies, {finalTotal: 6, rows: 6, counted: 6})
    expect(judged).to.include({monotonicViolations: 1, duplicateTotals: 1, exact: false})
  })

  it('requires the final total to equal count(*) and the counter', () => {
    const replies = [reply(0, 1, 1), reply(2, 3, 2)]
    expect(judgeExactness(replies, {finalTotal: 3, rows: 3, counted: 3}).exact).to.equal(true)
    expect(judgeExactness(replies, {finalTotal: 3, rows: 4, counted: 4}).exact).to.equal(false)
    expect(judgeExactness(replies, {finalTotal: 3, rows: 3, counted: 2}).exact).to.equal(false)
  })
})
