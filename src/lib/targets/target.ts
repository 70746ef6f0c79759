/**
 * The deploy-target port: what a command asks of "where the stack runs" (Docker Compose on this engine, or a
 * Docker Swarm), so that no command branches on the target. `targetFromFlags` (select.ts) picks the one
 * implementation once, from the flags; each operation returns its result and the lines the command prints.
 */
import type {StatusReport, TargetDownReport, UpReport} from './reports.js'
import type {PersistenceResult} from '../operations/verify/result.js'
import type {BackupResult} from '../operations/backup-restore/backup.js'
import type {VolumeInspection} from '../operations/backup-restore/inspect.js'
import type {RestoreResult} from '../operations/backup-restore/restore.js'
import type {KubernetesRenderResult} from './kubernetes/render-kubernetes.js'
import type {ServiceLogOptions} from '../engine/docker-cli.js'
import type {SwarmRenderResult} from './swarm/cluster/render.js'
import type {SwarmVolumeInspection} from './swarm/cluster/volume.js'
import type {SwitchoverReport} from './swarm/ha/switchover.js'
import type {FailoverReport} from './swarm/ha/manual-failover.js'
import type {StepDisplay} from '../cli/ui/step-display.js'
import type {DoctorReport} from '../operations/doctor/checks.js'

export const DEPLOY_TARGET_NAMES = ['compose', 'swarm'] as const
export type DeployTargetName = (typeof DEPLOY_TARGET_NAMES)[number]

// What `up`, `down` (one stack; `down --all` has its own shape) and `status` print with --json: one shape per
// verb for both targets, target-only details under `compose` / `swarm` (reports.ts).
export type {StatusReport, TargetDownReport, UpReport} from './reports.js'
/** What `verify-persistence --json` prints, whichever the target: one shape (a swarm adds its `swarm` detail). */
export type VerifyReport = PersistenceResult
/** What `volume inspect --json` prints; on a swarm also the node that holds the volume. */
export type VolumeInspectReport = VolumeInspection | SwarmVolumeInspection

/** The compose files written, without starting anything. */
export interface RenderResult {
  composeFile: string
  written: boolean
  images: {source: string; postgres: string; node: string}
}
/** What `render --json` prints: the compose files, the Kubernetes directory, or the swarm stack file. */
export type RenderReport = RenderResult | KubernetesRenderResult | SwarmRenderResult

/** What a command lends its target: its step display (made on first use) and a line on stderr. */
export interface CommandIo {
  display(): StepDisplay
  note(line: string): void
}

/** An operation's result, the lines the command prints on stdout (then `notes` on stderr), and its exit code. */
export interface Reported<T> {
  result: T
  lines: string[]
  notes?: string[]
  exitCode?: number
}

export interface UpOptions {
  build?: boolean
  force?: boolean
  dev?: boolean
  devSource?: string
  quiet?: boolean
  replicas?: number
  dbNode?: string
  registry?: string
  dbReplicas?: number
  durability?: 'sync' | 'async'
}

export interface DownOptions {
  volumes?: boolean
  force?: boolean
}

export interface LogsOptions extends ServiceLogOptions {
  onLine: (line: string) => void
}

export interface RenderOptions {
  stdout?: boolean
  force?: boolean
  replicas?: number
}

/** verify-persistence's flags as given: each target checks the mode against its own disruptions. */
export interface VerifyFlags {
  mode?: string
  visits?: string
  concurrency?: string
  keepRunning?: boolean
}

/** `db switchover`: the member (or its node) to lead; without it the eligible standby least behind. */
export interface SwitchoverOptions {
  to?: string
  force?: boolean
}

export type {SwitchoverReport} from './swarm/ha/switchover.js'

/** `db failover`: the member (or its node) to promote; without it the eligible member least behind. */
export type FailoverOptions = SwitchoverOptions

export type {FailoverReport} from './swarm/ha/manual-failover.js'

export interface RestoreOptions {
  file: string
  force?: boolean
}

/** Renders the stack's files for a target without starting it (Kubernetes is a render-only target). */
export interface Renderer {
  readonly name: string
  render(options: RenderOptions, io: CommandIo): Promise<Reported<RenderReport>>
}

export interface DeployTarget extends Renderer {
  readonly name: DeployTargetName
  up(options: UpOptions, io: CommandIo): Promise<Reported<UpReport>>
  down(options: DownOptions, io: CommandIo): Promise<Reported<TargetDownReport>>
  status(options: {check?: boolean}): Promise<Reported<StatusReport>>
  logs(service: string | undefined, options: LogsOptions): Promise<void>
  verifyPersistence(flags: VerifyFlags, io: CommandIo): Promise<Reported<VerifyReport>>
  inspectVolume(): Promise<VolumeInspectReport>
  backupVolume(file: string | undefined, io: CommandIo): Promise<BackupResult>
  restoreVolume(options: RestoreOptions, io: CommandIo): Promise<RestoreResult>
  /** A planned change of the HA database's leader; a target without one refuses (exit 2, nothing changed). */
  switchover(options: SwitchoverOptions, io: CommandIo): Promise<Reported<SwitchoverReport>>
  /** A leader change by hand, for a leader Patroni did not replace itself; a target without one refuses (exit 2). */
  failover(options: FailoverOptions, io: CommandIo): Promise<Reported<FailoverReport>>
  /** Checks that change nothing, each ok, warn or fail with its fix; exit 1 when one fails. */
  doctor(): Promise<Reported<DoctorReport>>
}

export type {DoctorReport} from '../operations/doctor/checks.js'
