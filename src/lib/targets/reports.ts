/**
 * One --json result shape per verb, whichever the target: what both targets know sits at the top level under
 * the same names, and what only one of them knows sits under `compose` or `swarm` (null for the other), as
 * verify-persistence does. Each target builds its report here from its own operation's result; the lines a
 * human reads are still written from that result, so they do not change.
 */
import type {SupersededReport} from '../model/stackdir/stack-files.js'
import type {ArchivingStatus} from '../operations/protect/health.js'
import type {RestorePoint} from '../operations/protect/restore-point.js'
import type {StackStatus} from '../stack/status.js'
import {isHealthy} from '../stack/status.js'
import type {DownResult} from './compose/down.js'
import type {UpResult} from './compose/up.js'
import type {DistributedImage, SwarmUpResult} from './swarm/cluster/deploy.js'
import type {SwarmDownResult} from './swarm/cluster/down.js'
import type {SwarmStackStatus, TaskStatus} from './swarm/cluster/status.js'
import type {HaStatus} from './swarm/ha/status.js'
import type {SwarmProtection} from './swarm/protection.js'

/** One of the stack's services, as both targets report it. */
export interface ServiceReport {
  name: string
  /** Compose: the container's state; swarm: `running` when every replica runs, else a task's state; `absent`. */
  state: string
  /** `healthy`, `unhealthy`, `starting` or `none` (no healthcheck, or nothing running). */
  health: string
  /** On a swarm, tasks running of those wanted (`2/3`); null on Compose (one container per service). */
  replicas: string | null
}

/** Compose only: the engine's view of the volume, the dev mode, the settings and what is wrong. */
export interface ComposeStatusDetail {
  /** The database's URL for host tools (never with the password) when the running db publishes a port, else null. */
  dbUrl: string | null
  /** How the app runs: the built image (normal) or the working tree (dev); null when it is not there. */
  mode: 'normal' | 'dev' | null
  /** Whether the volume exists, its PostgreSQL major, and the volumes it ran on before (db upgrade). */
  volume: {exists: boolean; pgMajor: number; superseded: SupersededReport[]}
  /** What the stack exposes beyond this machine (a non-loopback host, a published database port). */
  warnings: string[]
  /** The settings in force (flags, environment, what the stack directory remembers). */
  settings: {host: string; port: number; dbPort: number | null; pgMajor: number; imageSource: string}
  /** What is wrong with a stack that was started (a service stopped, unhealthy or missing), with what to run. */
  problems: string[]
  /** WAL archiving's health (ok, warn or fail, the detail doctor gives, its fix); null when the stack does not archive. */
  archiving: ArchivingStatus | null
  /** The scheduled backups (doctor's `backups` check); null when the stack does not archive or its db is not running. */
  backups: ArchivingStatus | null
}

/** Swarm only: the manager asked, the db's node, whether the stack is deployed, and every current task. */
export interface SwarmStatusDetail {
  endpoint: string
  /** The node the db is pinned to (and its volume lives on); empty when none is. */
  dbNode: string
  deployed: boolean
  tasks: TaskStatus[]
  /** With --db-replicas 3: the Patroni members and whether a node can be lost now without losing visits; null with one db. */
  ha: HaStatus | null
  /** The swarm archives no WAL: what holds the data instead (the db's volume, or the HA members' copies), and the dump command. */
  protection: SwarmProtection
}

/** What `status --json` prints, for either target. */
export interface StatusReport {
  target: 'compose' | 'swarm'
  project: string
  url: string
  /** Every service running and healthy (what --check exits 0 on). */
  healthy: boolean
  services: ServiceReport[]
  volume: {name: string}
  compose: ComposeStatusDetail | null
  swarm: SwarmStatusDetail | null
}

/** What `up --json` prints, for either target: the status it reached, with the time, the visits and the files. */
export interface UpReport extends Omit<StatusReport, 'volume' | 'compose' | 'swarm'> {
  /** visits: the API's total in the volume; null when it cannot be read (or, on a swarm, is not counted). */
  volume: {name: string; visits: number | null}
  /** The stack directory (compose or stack file, password file, stack.json). */
  dir: string
  seconds: number
  /** Compose only, besides its status detail: the images the stack runs. */
  compose: (ComposeStatusDetail & {images: {source: string; postgres: string; node: string}}) | null
  /** Swarm only, besides its status detail: the engine deployed from, the images brought to the nodes, the network. */
  swarm: (SwarmStatusDetail & {engine: string; images: DistributedImage[]; network: string}) | null
}

/** What `down --json` prints for one stack, for either target. */
export interface TargetDownReport {
  target: 'compose' | 'swarm'
  project: string
  /** visits: those in the volume when it was taken down; null when they could not be counted (always on a swarm). */
  volume: {name: string; deleted: boolean; visits: number | null}
  /** How long taking it down took (a confirmation's wait included). */
  seconds: number
  /** Compose only: whether the stack had a data volume at all. */
  compose: {volumeExisted: boolean} | null
  /**
   * Swarm only: whether a deployed stack was removed (false: it was not deployed), the volume's node ('' with the
   * HA database), and each data volume on its node (the members' and etcd's with the HA database).
   */
  swarm: {
    stackRemoved: boolean
    volumeNode: string
    volumes: Array<{name: string; node: string; deleted: boolean}>
  } | null
  /** Compose with --volumes on an archiving stack: the named point made before the volume was deleted. */
  restorePoint: RestorePoint | null
}

function composeDetail(status: StackStatus): ComposeStatusDetail {
  const {dbUrl, mode, volume, warnings, settings, problems, archiving, backups} = status
  return {
    dbUrl,
    mode,
    volume: {exists: volume.exists, pgMajor: volume.pgMajor, superseded: volume.superseded},
    warnings,
    settings,
    problems,
    archiving,
    backups,
  }
}

export function composeStatusReport(status: StackStatus): StatusReport {
  return {
    target: 'compose',
    project: status.project,
    url: status.url,
    healthy: isHealthy(status),
    services: status.services.map(({name, state, health}) => ({name, state, health, replicas: null})),
    volume: {name: status.volume.name},
    compose: composeDetail(status),
    swarm: null,
  }
}

export function composeUpReport(result: UpResult): UpReport {
  const status = composeStatusReport(result)
  return {
    ...status,
    volume: {name: result.volume.name, visits: result.visits},
    dir: result.dir,
    seconds: result.seconds,
    compose: {...composeDetail(result), images: result.images},
    swarm: null,
  }
}

export function composeDownReport(result: DownResult, seconds: number): TargetDownReport {
  const {name, existed, deleted, visits} = result.volume
  return {
    target: 'compose',
    project: result.project,
    volume: {name, deleted, visits},
    seconds,
    compose: {volumeExisted: existed},
    swarm: null,
    restorePoint: result.restorePoint,
  }
}

/** A swarm service from its replica count (`running/wanted`) and its current tasks. */
export function swarmService(name: string, replicas: string, tasks: readonly TaskStatus[]): ServiceReport {
  const [running, wanted] = replicas.split('/').map(Number)
  const own = tasks.filter((t) => t.service === name)
  const up = own.filter((t) => t.state === 'running')
  let state: string
  if (wanted === 0) state = 'absent'
  else if (running >= wanted) state = 'running'
  else state = own.find((t) => t.state !== 'running')?.state ?? (running > 0 ? 'partly running' : 'not running')
  let health = 'none'
  if (up.some((t) => t.health === 'starting')) health = 'starting'
  else if (up.length > 0 && up.every((t) => t.health === 'healthy')) health = 'healthy'
  return {name, state, health, replicas}
}

function swarmDetail(status: SwarmStackStatus): SwarmStatusDetail {
  const {endpoint, dbNode, deployed, tasks, ha, protection} = status
  return {endpoint, dbNode, deployed, tasks, ha: ha ?? null, protection}
}

export function swarmStatusReport(status: SwarmStackStatus): StatusReport {
  return {
    target: 'swarm',
    project: status.project,
    url: status.url,
    healthy: status.healthy,
    services: [
      swarmService('db', status.replicas.db, status.tasks),
      swarmService('app', status.replicas.app, status.tasks),
    ],
    volume: {name: status.volume},
    compose: null,
    swarm: swarmDetail(status),
  }
}

/** `dir`: the stack directory the stack file was written to (the swarm's result does not carry it). */
export function swarmUpReport(result: SwarmUpResult, dir: string): UpReport {
  const status = swarmStatusReport(result)
  return {
    ...status,
    volume: {name: result.volume, visits: null},
    dir,
    seconds: result.seconds,
    compose: null,
    swarm: {...swarmDetail(result), engine: result.engine, images: result.images, network: result.network},
  }
}

export function swarmDownReport(result: SwarmDownResult): TargetDownReport {
  return {
    target: 'swarm',
    project: result.project,
    volume: {name: result.volume.name, deleted: result.volume.removed, visits: null},
    seconds: result.seconds,
    compose: null,
    swarm: {
      stackRemoved: result.removed,
      volumeNode: result.volume.node,
      volumes: result.volumes.map((v) => ({name: v.name, node: v.node, deleted: v.removed})),
    },
    restorePoint: null,
  }
}
