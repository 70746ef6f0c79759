/** Command-line options of `npm run bench -- [options]`. */
import {parseArgs} from 'node:util'

export interface BenchOptions {
  /** Seconds per load level (API and pgbench). */
  seconds: number
  warmUpSeconds: number
  /** pgbench's client counts. */
  levels: number[]
  /** The API's connection counts (warm), and those of the cold and busy runs. */
  apiLevels: number[]
  /** Seconds per cold and busy run. */
  robustnessSeconds: number
  rows: number
  upRuns: number
  versionRuns: number
  /** Write bench/results/<date>.json and update BENCHMARKS.md. */
  write: boolean
  /** Run one step on its own (prints its result; writes nothing, except protection with --write). */
  only?: 'upgrade' | 'startup' | 'idle' | 'ceiling' | 'protection'
  /** Protection: lost-volume runs and point-in-time targets. */
  runs: number
  targets: number
  /** Seconds of the idle stack's CPU window (and of the baseline before it). */
  idleSeconds: number
  /** Interleaved runs of each of node -e '', stackctl --version and stackctl --help. */
  startupRuns: number
}

export const USAGE = `npm run bench -- [--seconds 10] [--rows 1000000] [--up-runs 5] [--version-runs 10] [--startup-runs 20] [--idle-seconds 120] [--no-write] [--only upgrade|startup|idle|ceiling|protection] [--runs 5] [--targets 20] [--write]`

const ONLY = ['upgrade', 'startup', 'idle', 'ceiling', 'protection']

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback
  const number = Number(value)
  if (!Number.isInteger(number) || number < 1) throw new Error(`--${name} must be a positive integer, got '${value}'`)
  return number
}

export function parseOptions(argv: string[]): BenchOptions {
  const {values} = parseArgs({
    args: argv,
    options: {
      seconds: {type: 'string'},
      rows: {type: 'string'},
      'up-runs': {type: 'string'},
      'version-runs': {type: 'string'},
      'startup-runs': {type: 'string'},
      'no-write': {type: 'boolean'},
      only: {type: 'string'},
      'idle-seconds': {type: 'string'},
      runs: {type: 'string'},
      targets: {type: 'string'},
      write: {type: 'boolean'},
    },
  })
  if (values.only !== undefined && !ONLY.includes(values.only)) {
    throw new Error(`--only takes one step's name (${ONLY.join(', ')}), got '${values.only}'`)
  }
  if (values.write && values.only !== 'protection') {
    throw new Error('--write is taken only with --only protection (a full run writes unless --no-write)')
  }
  const seconds = positive('seconds', values.seconds, 10)
  return {
    seconds,
    warmUpSeconds: Math.min(5, seconds),
    levels: [1, 32, 128],
    apiLevels: [1, 32, 64, 128, 200],
    robustnessSeconds: Math.min(5, seconds),
    rows: positive('rows', values.rows, 1_000_000),
    upRuns: positive('up-runs', values['up-runs'], 5),
    versionRuns: positive('version-runs', values['version-runs'], 10),
    startupRuns: positive('startup-runs', values['startup-runs'], 20),
    write: values.only === undefined ? !values['no-write'] : values.write === true,
    only: values.only as BenchOptions['only'],
    idleSeconds: positive('idle-seconds', values['idle-seconds'], 120),
    runs: positive('runs', values.runs, 5),
    targets: positive('targets', values.targets, 20),
  }
}
