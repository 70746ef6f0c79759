import {expect} from 'chai'

import {isFullRunFile, renderSvg} from '../chart-render.js'
import {
  chartsSection,
  historyPoints,
  latencyPoints,
  lifecycleBars,
  RATIOS,
  runLabel,
  SERIES,
  throughputChart,
  throughputPoints,
} from '../charts.js'
import type {BenchResults, LoadResult} from '../results.js'
import {sampleResults} from './sample-results.js'

function load(connections: number, rps: number, p99: number): LoadResult {
  return {
    connections,
    seconds: 10,
    requests: rps * 10,
    rps,
    p50: 1,
    p99,
    non2xx: 0,
    errors: 0,
    timeouts: 0,
    loadBefore: 1,
  }
}

const ceiling = [load(1, 3000, 1.5), load(32, 20_000, 4), load(128, 24_000, 12)]
const withCeiling = (): BenchResults => ({...sampleResults(), ceiling})

describe('bench charts: data', () => {
  it('plots req/s of the API, the ceiling and pgbench against connections', () => {
    const points = throughputPoints(withCeiling())
    expect(points).to.deep.include({series: SERIES.api, connections: 32, value: 4000})
    expect(points).to.deep.include({series: SERIES.ceiling, connections: 128, value: 24_000})
    expect(points).to.deep.include({series: SERIES.pgbench, connections: 96, value: 6000})
    expect(points.filter((p) => p.series === SERIES.ceiling)).to.have.length(3)
    expect(throughputPoints(sampleResults()).map((p) => p.series)).to.not.include(SERIES.ceiling)
  })

  it('plots p99, and pgbench’s average under a name that says so', () => {
    const points = latencyPoints(withCeiling())
    expect(points).to.deep.include({series: SERIES.ceiling, connections: 32, value: 4})
    expect(points).to.deep.include({series: SERIES.api, connections: 32, value: 25})
    expect(points.filter((p) => p.series.startsWith('pgbench')).map((p) => p.series)).to.satisfy((names: string[]) =>
      names.every((name) => name === SERIES.pgbenchAvg),
    )
  })

  it('gives the lifecycle timings in seconds, leaving out steps a run did not measure', () => {
    const backupRestore = {visits: 10, dumpBytes: 100, backupMs: 2300, restoreMs: 4500, exact: true}
    const upgrade = {visits: 10, from: 15, to: 17, upgradeMs: 24_000, steps: {}, exact: true}
    const results = {...sampleResults(), backupRestore, upgrade}
    const bars = lifecycleBars(results)
    expect(bars).to.deep.include({what: 'stackctl db upgrade', seconds: 24})
    expect(bars).to.deep.include({what: 'stackctl volume restore --force', seconds: 4.5})
    expect(bars[0]).to.deep.equal({
      what: 'stackctl up (running), median',
      seconds: results.cli.upRunning.medianMs / 1000,
    })
    const without = lifecycleBars({...results, upgrade: undefined, backupRestore: undefined})
    expect(without.map((b) => b.what)).to.not.include('stackctl db upgrade')
    expect(without.length).to.be.lessThan(bars.length)
  })

  it('gives each run’s headline ratios oldest first, the ceiling’s only where it was measured', () => {
    const old = {...sampleResults(), startedAt: '2026-11-01T00:00:00.000Z'}
    const points = historyPoints([withCeiling(), old])
    expect(points[0].run).to.equal('2026-11-01 00:00')
    const ceilingRatios = points.filter((p) => p.ratio === RATIOS.apiCeiling)
    expect(ceilingRatios).to.deep.equal([{run: '2026-11-24 12:00', ratio: RATIOS.apiCeiling, value: 0.2}])
    expect(points.filter((p) => p.ratio === RATIOS.apiPgbench)).to.have.length(2)
  })

  it('draws the up-from-stopped pair and --help’s ratio where a run measured them', () => {
    const measured = sampleResults()
    const bars = lifecycleBars(measured).map((b) => b.what)
    expect(bars).to.include.members(['stackctl up (stopped), median', 'docker compose up -d --wait (stopped), median'])
    const startup = {
      nodeBaseline: {command: "node -e ''", runsMs: [100], medianMs: 100},
      version: {command: 'stackctl --version', runsMs: [120], medianMs: 120},
      help: {command: 'stackctl --help', runsMs: [130], medianMs: 130},
    }
    const points = historyPoints([{...measured, startup}])
    expect(points).to.deep.include({run: runLabel(measured), ratio: RATIOS.upStoppedCompose, value: 1.03})
    expect(points).to.deep.include({run: runLabel(measured), ratio: RATIOS.helpNode, value: 1.3})
    // Control: a run from before either was measured draws neither.
    const {upStopped: _u, composeUpStopped: _c, ...oldCli} = measured.cli
    const old = {...measured, cli: oldCli}
    expect(lifecycleBars(old).map((b) => b.what)).to.not.include('stackctl up (stopped), median')
    const ratios = historyPoints([old]).map((p) => p.ratio)
    expect(ratios).to.not.include(RATIOS.upStoppedCompose)
    expect(ratios).to.not.include(RATIOS.helpNode)
  })

  it('embeds each chart in BENCHMARKS.md beside it', () => {
    const text = chartsSection([{file: 'throughput.svg', alt: 'req/s'}], 'bench/results/x.json')
    expect(text).to.include('![req/s](benchmarks/throughput.svg)')
    expect(text).to.include('`bench/results/x.json`')
  })
})

describe('bench charts: rendering', function () {
  this.timeout(20_000)

  // Each point's label; a line is labelled as its first point, so distinct labels count the points.
  const pointsOf = (svg: string, series: string) =>
    new Set(svg.match(new RegExp(`aria-label="[^"]*; series: ${series.replace(/[()]/g, '\\$&')}"`, 'g')) ?? [])

  it('renders the throughput chart from fixture results as an SVG with every series and point', async () => {
    const svg = await renderSvg(throughputChart(withCeiling()))
    expect(svg.startsWith('<svg')).to.equal(true)
    expect(svg.match(/aria-roledescription="line mark container"/g)).to.have.length(4)
    expect(pointsOf(svg, SERIES.ceiling).size).to.equal(3)
    expect(pointsOf(svg, SERIES.api).size).to.equal(3)
    expect(svg).to.include('req/s (pgbench: TPS): 24000; series: ceiling (no database)')
    // The negative control: a run without the ceiling draws no ceiling line.
    const without = await renderSvg(throughputChart(sampleResults()))
    expect(pointsOf(without, SERIES.ceiling).size).to.equal(0)
    expect(without.match(/aria-roledescription="line mark container"/g)).to.have.length(3)
  })
})

describe('bench charts: the runs they are drawn from', () => {
  it('reads the full runs’ files only, not a step’s own (engines-<date>.json)', () => {
    expect(isFullRunFile('2026-12-05T00-41-18Z.json')).to.equal(true)
    expect(isFullRunFile('engines-2026-12-07T04-58-36Z.json')).to.equal(false)
    expect(isFullRunFile('2026-12-05T00-41-18Z.json.1a2b3c4d.tmp')).to.equal(false)
  })
})
