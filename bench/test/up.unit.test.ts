import {expect} from 'chai'

import {pairOrder} from '../cli-timing.js'
import {historyRow} from '../markdown.js'
import {parseOptions} from '../options.js'
import type {TimingSeries} from '../results.js'
import {evaluateTargets} from '../targets.js'
import {upLines, upTargets, type UpTimings} from '../up-report.js'
import {sampleResults} from './sample-results.js'

const series = (command: string, medianMs: number): TimingSeries => ({
  command,
  runsMs: [medianMs - 5, medianMs, medianMs + 20],
  medianMs,
})

const timings = (running: number, stopped: number): UpTimings => ({
  upRunning: series('stackctl up (running stack)', running),
  composeUp: series('docker compose up -d --wait', 1000),
  upStopped: series('stackctl up (stopped stack)', stopped),
  composeUpStopped: series('docker compose up -d --wait (stopped stack)', 6000),
})

describe('bench: up against Compose', () => {
  it('passes a no-op up as fast as Compose and a start from stopped within 5 % of it', () => {
    const [running, stopped] = upTargets(timings(1000, 6300))
    expect(running).to.include({limit: '<= 1 x', value: '1 x (1000 / 1000 ms)', pass: true})
    expect(stopped).to.include({
      name: 'stackctl up (stopped) vs docker compose up -d --wait, medians',
      limit: '<= 1.05 x',
      value: '1.05 x (6300 / 6000 ms)',
      pass: true,
    })
  })

  it('negative control: slower than Compose on a running stack, or over 1.05 x from stopped, fails', () => {
    const [running, stopped] = upTargets(timings(1010, 6310))
    expect(running.pass).to.equal(false)
    expect(stopped.pass).to.equal(false)
  })

  it('judges the stopped pair only when the run measured it', () => {
    const {upRunning, composeUp} = timings(900, 6000)
    expect(upTargets({upRunning, composeUp}).map((t) => t.name)).to.deep.equal([
      'stackctl up (running) vs docker compose up -d --wait, medians',
    ])
  })

  it('is part of the full run’s targets, with --version at 1.5 x node', () => {
    const results = sampleResults()
    expect(evaluateTargets(results).every((t) => t.pass)).to.equal(true)
    results.cli.upStopped = series('stackctl up (stopped stack)', 6400)
    results.cli.version = series('stackctl --version', 110)
    const failed = evaluateTargets(results).filter((t) => !t.pass)
    expect(failed.map((t) => t.name)).to.deep.equal([
      'stackctl up (stopped) vs docker compose up -d --wait, medians',
      "stackctl --version vs node -e '', medians",
    ])
  })

  it('turns the order within each pair every round', () => {
    expect([0, 1, 2, 3].map(pairOrder)).to.deep.equal([
      [0, 1],
      [1, 0],
      [0, 1],
      [1, 0],
    ])
  })

  it('prints each series and judgement for --only up, and the history keeps the stopped ratio', () => {
    const text = upLines(timings(950, 6600))
    expect(text).to.include('stackctl up (stopped stack): median 6600 ms (6595, 6600, 6620)')
    expect(text).to.include(
      'FAIL  stackctl up (stopped) vs docker compose up -d --wait, medians  1.1 x (6600 / 6000 ms)',
    )
    expect(text).to.include('PASS  stackctl up (running) vs docker compose up -d --wait, medians  0.95 x')
    expect(parseOptions(['--only', 'up', '--up-runs', '3'])).to.include({only: 'up', upRuns: 3, write: false})
    const results = sampleResults()
    expect(historyRow(results, evaluateTargets(results))).to.match(/ \| 1\.03 \| [\d.–]+ \|$/)
  })
})
