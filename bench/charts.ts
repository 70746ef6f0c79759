/**
 * What the charts show, without I/O: the data each chart plots, shaped from bench results, and the Vega-Lite
 * spec that draws it. bench/chart-render.ts renders them to SVG. Pure.
 */
import type {TopLevelSpec} from 'vega-lite'

import {compareWithCeiling} from './ceiling-report.js'
import type {BenchResults} from './results.js'
import {round} from './stats.js'

export interface LoadPoint {
  series: string
  connections: number
  value: number
}

export interface TimingBar {
  what: string
  seconds: number
}

export interface HistoryPoint {
  run: string
  ratio: string
  value: number
}

export const SERIES = {
  api: 'API GET /',
  ceiling: 'ceiling (no database)',
  pgbench: 'pgbench, same SQL',
  plainInsert: 'pgbench, plain INSERT',
  pgbenchAvg: 'pgbench, same SQL (average, no p99)',
} as const

/** req/s (or TPS) against connections (or clients) for the API, the ceiling and pgbench. */
export function throughputPoints(results: BenchResults): LoadPoint[] {
  return [
    ...results.api.map((r) => ({series: SERIES.api, connections: r.connections, value: r.rps})),
    ...(results.ceiling ?? []).map((r) => ({series: SERIES.ceiling, connections: r.connections, value: r.rps})),
    ...results.pgbench.map((p) => ({series: SERIES.pgbench, connections: p.clients, value: round(p.tps, 0)})),
    ...(results.plainInsert
      ? [
          {
            series: SERIES.plainInsert,
            connections: results.plainInsert.clients,
            value: round(results.plainInsert.tps, 0),
          },
        ]
      : []),
  ]
}

/** p99 latency against connections; pgbench reports only its average, drawn as such. */
export function latencyPoints(results: BenchResults): LoadPoint[] {
  return [
    ...results.api.map((r) => ({series: SERIES.api, connections: r.connections, value: r.p99})),
    ...(results.ceiling ?? []).map((r) => ({series: SERIES.ceiling, connections: r.connections, value: r.p99})),
    ...results.pgbench.map((p) => ({series: SERIES.pgbenchAvg, connections: p.clients, value: p.latencyAvgMs})),
  ]
}

/** The lifecycle commands' wall times, in seconds; steps a run did not measure are left out. */
export function lifecycleBars(results: BenchResults): TimingBar[] {
  const {cli, backupRestore, upgrade} = results
  const bars: Array<[string, number | undefined]> = [
    ['stackctl up (running), median', cli.upRunning.medianMs],
    ['docker compose up -d --wait (running), median', cli.composeUp.medianMs],
    ['stackctl up (stopped), median', cli.upStopped?.medianMs],
    ['docker compose up -d --wait (stopped), median', cli.composeUpStopped?.medianMs],
    ['stackctl down', cli.downMs],
    ['stackctl up (cold)', cli.coldUp.totalMs],
    ['stackctl volume backup', backupRestore?.backupMs],
    ['stackctl volume restore --force', backupRestore?.restoreMs],
    ['stackctl db upgrade', upgrade?.upgradeMs],
  ]
  return bars.flatMap(([what, ms]) => (ms === undefined ? [] : [{what, seconds: round(ms / 1000, 2)}]))
}

/** A run as the history's axis names it: its start, to the minute. */
export function runLabel(results: Pick<BenchResults, 'startedAt'>): string {
  return results.startedAt.slice(0, 16).replace('T', ' ')
}

export const RATIOS = {
  apiPgbench: 'API / pgbench same SQL @32',
  apiPlainInsert: 'API / plain INSERT @32',
  apiCeiling: 'API / ceiling @32',
  upCompose: 'up / compose up (running)',
  upStoppedCompose: 'up / compose up (stopped)',
  versionNode: "--version / node -e ''",
  helpNode: "--help / node -e ''",
} as const

/** The headline ratios of each run, oldest first; a ratio a run did not measure is left out. */
export function historyPoints(runs: readonly BenchResults[]): HistoryPoint[] {
  const sorted = [...runs].sort((a, b) => a.startedAt.localeCompare(b.startedAt))
  return sorted.flatMap((results) => {
    const api32 = results.api.find((r) => r.connections === 32)
    const pg32 = results.pgbench.find((p) => p.requestedClients === 32)
    const ceiling32 = compareWithCeiling(results.api, results.ceiling ?? []).find((c) => c.connections === 32)
    const {cli, startup} = results
    const ratios: Array<[string, number | undefined]> = [
      [RATIOS.apiPgbench, api32 && pg32 ? api32.rps / pg32.tps : undefined],
      [RATIOS.apiPlainInsert, api32 && results.plainInsert ? api32.rps / results.plainInsert.tps : undefined],
      [RATIOS.apiCeiling, ceiling32?.fraction],
      [RATIOS.upCompose, cli.upRunning.medianMs / cli.composeUp.medianMs],
      [
        RATIOS.upStoppedCompose,
        cli.upStopped && cli.composeUpStopped ? cli.upStopped.medianMs / cli.composeUpStopped.medianMs : undefined,
      ],
      [RATIOS.versionNode, cli.version.medianMs / cli.nodeBaseline.medianMs],
      [RATIOS.helpNode, startup ? startup.help.medianMs / startup.nodeBaseline.medianMs : undefined],
    ]
    return ratios.flatMap(([ratio, value]) =>
      value === undefined || !Number.isFinite(value) ? [] : [{run: runLabel(results), ratio, value: round(value, 2)}],
    )
  })
}

const WIDTH = 480
const HEIGHT = 260

function loadChart(title: string, yTitle: string, points: LoadPoint[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: WIDTH,
    height: HEIGHT,
    data: {values: points},
    mark: {type: 'line', point: true},
    encoding: {
      x: {
        field: 'connections',
        type: 'quantitative',
        title: 'connections (pgbench: clients)',
        scale: {type: 'log', base: 2},
      },
      y: {field: 'value', type: 'quantitative', title: yTitle},
      color: {field: 'series', type: 'nominal', title: null, legend: {orient: 'bottom', columns: 2, labelLimit: 320}},
    },
  }
}

export function throughputChart(results: BenchResults): TopLevelSpec {
  return loadChart(
    `Throughput, run of ${results.startedAt.slice(0, 10)}`,
    'req/s (pgbench: TPS)',
    throughputPoints(results),
  )
}

export function latencyChart(results: BenchResults): TopLevelSpec {
  return loadChart(`Latency, run of ${results.startedAt.slice(0, 10)}`, 'p99 ms', latencyPoints(results))
}

export function lifecycleChart(results: BenchResults): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `Lifecycle commands, run of ${results.startedAt.slice(0, 10)}`,
    width: WIDTH,
    data: {values: lifecycleBars(results)},
    mark: {type: 'bar'},
    encoding: {
      y: {field: 'what', type: 'nominal', sort: null, title: null, axis: {labelLimit: 320}},
      x: {field: 'seconds', type: 'quantitative', title: 'seconds, spawn to exit'},
    },
  }
}

export function historyChart(runs: readonly BenchResults[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Headline ratios across the recorded runs',
    width: WIDTH,
    height: HEIGHT,
    data: {values: historyPoints(runs)},
    mark: {type: 'line', point: true},
    encoding: {
      // One step per run, in order: several runs on one day would stack on a time axis.
      x: {field: 'run', type: 'ordinal', title: 'run (UTC)', axis: {labelAngle: -40}},
      y: {field: 'value', type: 'quantitative', title: 'ratio (log scale)', scale: {type: 'log'}},
      color: {field: 'ratio', type: 'nominal', title: null, legend: {orient: 'bottom', columns: 2, labelLimit: 320}},
    },
  }
}

/** The charts of a run, by file name (under CHARTS_DIR), with the alt text BENCHMARKS.md gives each. */
export function chartSpecs(
  latest: BenchResults,
  runs: readonly BenchResults[],
): Array<{file: string; alt: string; spec: TopLevelSpec}> {
  return [
    {file: 'throughput.svg', alt: 'req/s against connections: API, ceiling, pgbench', spec: throughputChart(latest)},
    {file: 'latency.svg', alt: 'p99 against connections: API, ceiling; pgbench average', spec: latencyChart(latest)},
    {file: 'lifecycle.svg', alt: 'lifecycle command timings', spec: lifecycleChart(latest)},
    {file: 'history.svg', alt: 'headline ratios across runs', spec: historyChart(runs)},
  ]
}

/** Beside BENCHMARKS.md. */
export const CHARTS_DIR = 'benchmarks'

/** The BENCHMARKS.md section that embeds them. */
export function chartsSection(files: ReadonlyArray<{file: string; alt: string}>, resultsFile: string): string {
  return [
    `Drawn by \`npm run bench\` from \`${resultsFile}\` and the runs before it in \`bench/results/\` ` +
      '(Vega-Lite, rendered to SVG; `npm run bench:charts` redraws them from the recorded results):',
    '',
    ...files.map(({file, alt}) => `![${alt}](${CHARTS_DIR}/${file})`),
  ].join('\n')
}
