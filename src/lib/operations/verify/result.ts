/** The persistence check's typed result: exactly what `verify-persistence --json` prints. */
import type {DurabilityReport} from './audit.js'
import type {TeardownMode} from './options.js'

export interface PhaseResult {
  name: string
  ms: number
  ok: boolean
}

export interface KillReport {
  /** Visits acknowledged before the SIGKILL was sent. */
  acknowledgedBeforeKill: number
  /** Writes sent and not yet answered when the SIGKILL was sent. */
  inFlightAtKill: number
  /** Attempts that failed: the writes the kill interrupted or refused. */
  failedAfterKill: number
  dbExitCode: number | null
}

export interface VolumeReport {
  name: string
  /** Engine 20.10 reports the ctime of the volume's _data directory here, so it moves with normal use. */
  createdAtBefore: string | null
  createdAtAfter: string | null
  /** The engine reported the volume destroyed while the check ran. */
  removedDuringCheck: boolean
  /** PostgreSQL's system identifier, set by initdb: the same one means the same data directory. */
  systemIdentifierBefore: string | null
  systemIdentifierAfter: string | null
}

/** Every disruption a check can apply: Compose's teardown modes, and a swarm's node drain. */
export type VerifyMode = TeardownMode | 'drain' | 'failover' | 'pause' | 'partition' | 'switchover'

/** On a swarm: what was disrupted, and the node the db ran on before and after. */
export interface SwarmCheckDetail {
  disruption: string
  dbNodeBefore: string
  dbNodeAfter: string
  /** --mode failover on the HA database: the leader's node killed, the write outage, who leads after; else null. */
  failover: FailoverReport | null
}

export interface FailoverReport {
  leaderBefore: string
  /** The node container killed (the leader's); null for a pause or a planned switchover, which kill nothing. */
  killedNode: string | null
  /** The node container paused (the leader's, --mode pause), unpaused once another member leads; else null. */
  pausedNode: string | null
  /**
   * The node cut from the others (the leader's, --mode partition: iptables inside its container drop its traffic
   * to and from the other nodes), healed once another member leads; else null.
   */
  partitionedNode: string | null
  leaderAfter: string | null
  timelineBefore: number | null
  timelineAfter: number | null
  /** The old leader came back as a replica streaming on the new leader's timeline. */
  oldLeaderRejoined: boolean
  /**
   * The write outage: seconds of the longest stretch after the fault's start with no write acknowledged by any
   * client (from the fault to the first acknowledgement, between two, or from the last to the writer's stop); null
   * when no write was acknowledged after the fault.
   */
  outageSeconds: number | null
  /**
   * Most members leading at one time while the fault lasted (1 is right): by Patroni's store, and with
   * --mode partition also the cut-off old leader while its PostgreSQL still took writes as a primary.
   */
  maxLeadersSeen: number
  /** The leader's WAL senders were stopped before the kill, so the replicas missed the last commits (the negative control's fault). */
  replicationStalled: boolean
  durability: 'sync' | 'async'
}

export interface PersistenceResult {
  passed: boolean
  mode: VerifyMode
  project: string
  visitsRequested: number
  concurrency: number
  attempted: number
  acknowledged: number
  /** Visits in the database before the writes. */
  baseline: number | null
  /** Visits before teardown (kill mode: the baseline — the database cannot be asked while it is being killed). */
  before: number | null
  /** Visits after the relaunch. */
  after: number | null
  /** The first MISSING_SHOWN acknowledged ids the database no longer has. */
  missing: number[]
  /** null when the check never reached its verify phase: nothing was verified, so nothing is claimed. */
  missingCount: number | null
  /** Checksum of the rows that existed before teardown, then and after the relaunch. */
  checksumBefore: string | null
  checksumAfter: string | null
  durability: DurabilityReport | null
  kill: KillReport | null
  /** The data volume through the check: the engine's view of it and the database cluster it holds. */
  volume: VolumeReport
  phases: PhaseResult[]
  /** Why the check failed; empty when it passed. */
  reasons: string[]
  /** The error that ended the check early, if one did; exit code 2 marks a usage or environment problem. */
  aborted: {phase: string; message: string; exitCode: number} | null
  /** Whether the stack was running when the check started, and whether it was left running. */
  stack: {foundRunning: boolean; leftRunning: boolean}
  /** With --target swarm: what was disrupted and the db's node before and after; null for Compose. */
  swarm: SwarmCheckDetail | null
}

export const MISSING_SHOWN = 20
