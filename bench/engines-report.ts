/**
 * The engines step (bench/engines.ts) as data and text, without I/O: what each engine measured, its numbers as
 * ratios to rootful Docker's from the same run, the table, the "## Engines" section of BENCHMARKS.md, and the
 * line for an engine that does not answer.
 */
import type {EngineAccess, EngineKey} from '../test/helpers/engines.js'
import type {LoadResult} from './results.js'
import {median, round} from './stats.js'

/** The API's connections in this step (the level the other targets compare at). */
export const ENGINES_CONNECTIONS = 32

export interface UpTimes {
  runsMs: number[]
  medianMs: number
}

export interface EngineRun {
  key: EngineKey
  title: string
  /** "Podman 4.3.1 rootless", as doctor names it. */
  engine: string
  apiVersion: string
  rootless: boolean
  /** `stackctl up` of a new stack (new project and volume; the images present). */
  upFresh: UpTimes
  /** `stackctl up` after `stackctl down` of a stack whose volume holds its database. */
  upStopped: UpTimes
  /** `GET /` at ENGINES_CONNECTIONS after a warm-up, its totals checked. */
  load: LoadResult
}

export interface EngineMissing {
  key: EngineKey
  title: string
  line: string
}

/** An engine's numbers over rootful Docker's (for p99 and up times: above 1 is slower). */
export interface EngineRatios {
  upFresh: number
  upStopped: number
  rps: number
  p99: number
}

export interface EnginesResult {
  startedAt: string
  finishedAt: string
  seconds: number
  warmUpSeconds: number
  upRuns: number
  connections: number
  /** 1, 5 and 15-minute load averages at the start and the end. */
  loadAtStart: number[]
  loadAtEnd: number[]
  cores: number
  engines: Array<EngineRun & {vsDocker?: EngineRatios}>
  missing: EngineMissing[]
}

export function upTimes(runsMs: readonly number[]): UpTimes {
  return {runsMs: runsMs.map((ms) => round(ms, 0)), medianMs: round(median(runsMs), 0)}
}

/** Each engine's numbers over rootful Docker's; none when Docker was not measured in this run. */
export function ratiosToDocker(runs: readonly EngineRun[]): Array<EngineRun & {vsDocker?: EngineRatios}> {
  const docker = runs.find((run) => run.key === 'docker')
  if (!docker) return [...runs]
  const ratio = (value: number, base: number) => round(value / base, 2)
  return runs.map((run) => ({
    ...run,
    vsDocker: {
      upFresh: ratio(run.upFresh.medianMs, docker.upFresh.medianMs),
      upStopped: ratio(run.upStopped.medianMs, docker.upStopped.medianMs),
      rps: ratio(run.load.rps, docker.load.rps),
      p99: ratio(run.load.p99, docker.load.p99),
    },
  }))
}

/** The line for an engine that does not answer (or is another engine than expected), with what starts it. */
export function engineMissingLine(access: EngineAccess, reason: string): string {
  const where = access.rootless && !access.user ? '' : ` at unix://${access.socket}`
  return `${access.title} (${access.key}) is not reachable${where}: ${reason}; start it with: ${access.provision}`
}

export function allExact(result: EnginesResult): boolean {
  return result.engines.every((run) => run.load.exactness?.exact === true)
}

const seconds = (ms: number) => (ms / 1000).toFixed(1)

export function enginesTable(result: EnginesResult): string {
  const header = [
    'engine',
    'version',
    'rootless',
    'up fresh s',
    'up from stopped s',
    `req/s @${result.connections}`,
    'p99 ms',
    'ratio vs Docker (up fresh / up stopped / req/s / p99)',
    'exact',
  ]
  const rows = result.engines.map((run) => {
    const r = run.vsDocker
    return [
      run.title,
      `${run.engine} (API ${run.apiVersion})`,
      run.rootless ? 'yes' : 'no',
      seconds(run.upFresh.medianMs),
      seconds(run.upStopped.medianMs),
      run.load.rps,
      run.load.p99,
      r ? `${r.upFresh} / ${r.upStopped} / ${r.rps} / ${r.p99}` : '– (Docker not measured)',
      run.load.exactness?.exact ? 'yes' : '**no**',
    ]
  })
  const line = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}

const loads = (values: readonly number[]) => values.map((v) => v.toFixed(2)).join(' / ')

/** The body of BENCHMARKS.md's "## Engines" section (between its markers). */
export function enginesSection(result: EnginesResult, resultsFile: string): string {
  const missing = result.missing.map((m) => `- ${m.line}`)
  return [
    `Run ${result.startedAt} (\`${resultsFile}\`): \`npm run bench -- --only engines --write\`, one stack of its own ` +
      `per engine, ${result.cores} cores, load average (1 / 5 / 15 min) ${loads(result.loadAtStart)} at the start ` +
      `and ${loads(result.loadAtEnd)} at the end.`,
    '',
    `\`up\` times are medians of ${result.upRuns} run(s), interleaved across the engines (the order turns each ` +
      `round); \`GET /\` at ${result.connections} connections for ${result.seconds} s after a ${result.warmUpSeconds} s ` +
      'warm-up, one engine at a time, its totals checked. Ratios are over rootful Docker in the same run (up and ' +
      'p99: above 1 is slower; req/s: below 1 is slower).',
    '',
    enginesTable(result),
    ...(missing.length > 0 ? ['', 'Not measured:', ...missing] : []),
  ].join('\n')
}

const START = '<!-- bench:engines:start -->'
const END = '<!-- bench:engines:end -->'

/** BENCHMARKS.md with the engines section replaced, or added (with its heading) before "## Charts" or at the end. */
export function updateEnginesText(text: string, body: string): string {
  const block = `${START}\n${body}\n${END}`
  const from = text.indexOf(START)
  const to = text.indexOf(END)
  if (from !== -1 && to > from) return text.slice(0, from) + block + text.slice(to + END.length)
  const section = `## Engines\n\n${block}\n`
  const charts = text.indexOf('\n## Charts\n')
  if (charts === -1) return `${text.trimEnd()}\n\n${section}`
  return `${text.slice(0, charts + 1)}${section}\n${text.slice(charts + 1)}`
}
