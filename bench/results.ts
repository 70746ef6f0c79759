/** The shape of one benchmark run: what bench/results/<date>.json holds and what the report renders. */

export interface MachineInfo {
  cpus: number
  cpuModel: string
  memoryGiB: number
  kernel: string
  node: string
  engine: string
  engineApi: string
  compose: string
  /** 1-minute load average when the run started; other work on the machine shows up here. */
  loadAtStart: number
  /** Running containers that belong to other projects when the run started. */
  otherContainersAtStart: number
}

import type {CpuShares} from './cpu.js'
import type {ExactnessResult} from './exactness.js'
import type {RobustnessResult} from './robustness.js'

export interface LoadResult {
  connections: number
  seconds: number
  requests: number
  /** Responses per second over the whole run. */
  rps: number
  /** Latency of every response in ms, from autocannon's per-response timings (not its 1 ms histogram). */
  p50: number
  p99: number
  non2xx: number
  errors: number
  timeouts: number
  /** 1-minute load average just before the run. */
  loadBefore: number
  cpu?: CpuShares
  /** Totals of this run's replies checked (runs that recorded them). */
  exactness?: ExactnessResult
}

/** The API against its ceiling (bench/ceiling.ts) at one level. */
export interface CeilingComparison {
  connections: number
  apiRps: number
  ceilingRps: number
  /** apiRps / ceilingRps */
  fraction: number
}

export interface PgbenchResult {
  /** Clients asked for, and clients used (fewer when max_connections would not allow them). */
  requestedClients: number
  clients: number
  seconds: number
  tps: number
  latencyAvgMs: number
  transactions: number
  failed: number
  loadBefore: number
  cpu?: CpuShares
  note?: string
}

export interface ScaleResult {
  rows: number
  /** sum(counter shards) equals count(*) after growing, and GET / reported count(*) + 1. */
  counterExact: boolean
  growSeconds: number
  empty: LoadResult
  grown: LoadResult
}

export interface BackupRestoreResult {
  /** Rows in visits when the backup started (the scale step's table). */
  visits: number
  dumpBytes: number
  /** Wall time of `stackctl volume backup` and of `stackctl volume restore --force`, spawn to exit. */
  backupMs: number
  restoreMs: number
  /** The record counted `visits`, and the restore brought back exactly that many. */
  exact: boolean
}

export interface UpgradeBenchResult {
  visits: number
  from: number
  to: number
  /** Wall time of `stackctl db upgrade --to <to>`, spawn to exit. */
  upgradeMs: number
  /** Seconds per step, as the command reports them. */
  steps: Record<string, number>
  /** The upgrade counted every visit, and the API's next visits continued the count through the real stack. */
  exact: boolean
}

export interface TimingSeries {
  command: string
  runsMs: number[]
  medianMs: number
}

export interface ColdUpPhases {
  totalMs: number
  /** Milliseconds from start to each milestone, in order; absent milestones are omitted. */
  milestones: Array<{name: string; atMs: number}>
}

export interface CliResults {
  upRunning: TimingSeries
  composeUp: TimingSeries
  /**
   * `stackctl up` and `docker compose up -d --wait` on the stack stopped by `docker compose stop` before each
   * run, interleaved. Absent in runs made before this was measured.
   */
  upStopped?: TimingSeries
  composeUpStopped?: TimingSeries
  version: TimingSeries
  nodeBaseline: TimingSeries
  downMs: number
  coldUp: ColdUpPhases
}

/** `stackctl --version` and `--help` against `node -e ''`, interleaved. */
export interface StartupResult {
  nodeBaseline: TimingSeries
  version: TimingSeries
  help: TimingSeries
}

export interface ImageResult {
  appImage: string
  appBytes: number
  baseImage: string
  baseBytes: number
  addedBytes: number
}

/** A running stack's CPU while nobody uses it (bench/idle.ts), in cores. */
export interface IdleCpuResult {
  seconds: number
  /** containers + shims + engine: what the target is on. */
  stack: number
  /** The db and app containers' cgroups. */
  containers: number
  /** Their containerd shims, with the runc processes they reaped (one per health check). */
  shims: number
  /** dockerd and containerd above their baseline. */
  engine: number
  /** The whole machine above its baseline (noisy when other work runs). */
  machine?: number
  baselineMachine?: number
  loadavg: number[]
}

export interface BenchResults {
  startedAt: string
  finishedAt: string
  durationSeconds: number
  machine: MachineInfo
  /**
   * How the published port reaches the app: Docker's userland proxy (a docker-proxy process copying every
   * byte, its CPU shown as "proxy") or the kernel's NAT rules (dockerd --userland-proxy=false). Absent in
   * runs made before this was recorded.
   */
  portPath?: 'docker-proxy' | 'kernel NAT'
  api: LoadResult[]
  /**
   * The no-database server in the stack's base image on the same port path (bench/ceiling.ts), at 1, 32 and
   * 128 connections; its CPU is shown as "app". Absent in runs made before this step existed.
   */
  ceiling?: LoadResult[]
  pgbench: PgbenchResult[]
  /** pgbench's plain single-row INSERT at 32 clients: the database's limit for one durable row per commit. */
  plainInsert?: PgbenchResult
  /** Cold pool and busy machine runs. */
  robustness?: RobustnessResult
  scale: ScaleResult
  /** Absent in runs made before this step existed. */
  backupRestore?: BackupRestoreResult
  /** Absent in runs made before this step existed. */
  upgrade?: UpgradeBenchResult
  cli: CliResults
  /** Absent in runs made before this step existed. */
  startup?: StartupResult
  /** Absent in runs made before this step existed. */
  idle?: IdleCpuResult
  image: ImageResult
}

export interface TargetResult {
  name: string
  limit: string
  value: string
  pass: boolean
}
