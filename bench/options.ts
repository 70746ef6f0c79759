/** Command-line options of `npm run bench -- [options]`. */
import {parseArgs} from 'node:util'

import {ENGINE_KEYS, type EngineKey} from '../test/helpers/engines.js'
import {HA_FAULTS, type HaFault} from './ha-runs.js'

const STEPS = ['upgrade', 'startup', 'idle', 'ceiling', 'up', 'engines', 'protection', 'ha'] as const

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
  /**
   * Write bench/results/<date>.json and update BENCHMARKS.md: the full run unless --no-write; of the --only
   * steps only `engines` and `protection`, and only with --write (each its own section and
   * bench/results/<step>-<date>.json).
   */
  write: boolean
  /** Run one step on its own (prints its result, writes nothing unless said above): `upgrade`. */
  only?: (typeof STEPS)[number]
  /** The engines `--only engines` measures. */
  engines: EngineKey[]
  /** Protection: lost-volume runs (default 5); HA: runs of each fault (default 10). */
  runs: number
  targets: number
  /** Seconds of the idle stack's CPU window (and of the baseline before it). */
  idleSeconds: number
  /** Interleaved runs of each of node -e '', stackctl --version and stackctl --help. */
  startupRuns: number
  /** The faults `--only ha` injects into the leader's node, in this order each round. */
  faults: HaFault[]
}

export const USAGE = `npm run bench -- [--seconds 10] [--rows 1000000] [--up-runs 5] [--version-runs 10] [--startup-runs 20] [--idle-seconds 120] [--no-write] [--only upgrade|startup|idle|ceiling|up]
       npm run bench -- --only engines [--seconds 10] [--up-runs 3] [--engines ${ENGINE_KEYS.join(',')}] [--write]
       npm run bench -- --only protection [--runs 5] [--targets 20] [--rows 1000000] [--write]
       npm run bench -- --only ha [--runs 10] [--modes ${HA_FAULTS.join(',')}] [--seconds 10] [--write]`

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
      engines: {type: 'string'},
      runs: {type: 'string'},
      targets: {type: 'string'},
      write: {type: 'boolean'},
      modes: {type: 'string'},
    },
  })
  if (values.only !== undefined && !(STEPS as readonly string[]).includes(values.only)) {
    throw new Error(`--only takes one step's name (${STEPS.join(', ')}), got '${values.only}'`)
  }
  const engines = values.only === 'engines'
  if (!engines && values.engines !== undefined) throw new Error('--engines goes with --only engines')
  if (values.write && values.only !== 'engines' && values.only !== 'protection' && values.only !== 'ha') {
    throw new Error(
      '--write goes with --only engines, --only protection or --only ha (a full run writes unless --no-write)',
    )
  }
  if (values.modes !== undefined && values.only !== 'ha') throw new Error('--modes goes with --only ha')
  const seconds = positive('seconds', values.seconds, 10)
  return {
    seconds,
    warmUpSeconds: Math.min(5, seconds),
    levels: [1, 32, 128],
    apiLevels: [1, 32, 64, 128, 200],
    robustnessSeconds: Math.min(5, seconds),
    rows: positive('rows', values.rows, 1_000_000),
    upRuns: positive('up-runs', values['up-runs'], engines ? 3 : 5),
    versionRuns: positive('version-runs', values['version-runs'], 10),
    startupRuns: positive('startup-runs', values['startup-runs'], 20),
    write: values.only === undefined ? !values['no-write'] : values.write === true,
    only: values.only as BenchOptions['only'],
    engines: values.engines === undefined ? [...ENGINE_KEYS] : engineList(values.engines),
    idleSeconds: positive('idle-seconds', values['idle-seconds'], 120),
    runs: positive('runs', values.runs, values.only === 'ha' ? 10 : 5),
    targets: positive('targets', values.targets, 20),
    faults: values.modes === undefined ? [...HA_FAULTS] : faultList(values.modes),
  }
}

/** `--modes kill,partition`: known faults, each once, in the order given. */
export function faultList(value: string): HaFault[] {
  const names = value.split(',').map((name) => name.trim())
  const unknown = names.filter((name) => !(HA_FAULTS as readonly string[]).includes(name))
  if (unknown.length > 0) {
    throw new Error(`--modes takes a comma-separated list of ${HA_FAULTS.join(', ')}, got '${value}'`)
  }
  return [...new Set(names)] as HaFault[]
}

/** `--engines docker,podman-rootless`: known names, each once, in the order given. */
export function engineList(value: string): EngineKey[] {
  const names = value.split(',').map((name) => name.trim())
  const unknown = names.filter((name) => !(ENGINE_KEYS as readonly string[]).includes(name))
  if (unknown.length > 0 || names.length === 0) {
    throw new Error(`--engines takes a comma-separated list of ${ENGINE_KEYS.join(', ')}, got '${value}'`)
  }
  return [...new Set(names)] as EngineKey[]
}
