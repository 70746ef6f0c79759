/**
 * Point-in-time recovery as data: the target a user asks for, the backup it restores from, the range the
 * repository can reach, and whether a restored cluster proves it stopped where it was asked to. Pure: the
 * restore (restore.ts) gathers the facts, these functions judge them.
 */
import {UsageError} from '../../errors.js'
import type {RepoBackup, RepoInfo} from './pgbackrest.js'

export type RecoveryTarget =
  | {kind: 'latest'}
  | {kind: 'time'; time: Date}
  | {kind: 'name'; name: string; point?: RecordedPoint}
  | {kind: 'lsn'; lsn: string}
  | SnapshotTarget

/**
 * Where a named point stackctl made was written (restore-point.ts keeps the record): a restore to it follows
 * its timeline, which after a later restore is no longer the newest one.
 */
export interface RecordedPoint {
  timeline: number
  lsn: string
  history?: TimelineHistory
}

/**
 * A snapshot (`stackctl snapshot restore`): its backup set alone, replayed only to its consistency point, and
 * the visits counted when it was taken (a range when the API wrote during the backup).
 */
export interface SnapshotTarget {
  kind: 'snapshot'
  name: string
  label: string
  /** Where the backup became consistent (pgBackRest's lsn stop): recovery must end exactly there. */
  consistentLsn: string
  visits?: {min: number; max: number}
}

export interface TargetFlags {
  'to-time'?: string
  'to-name'?: string
  'to-lsn'?: string
  latest?: boolean
}

const LSN = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i
const RESTORE_POINT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$/
// A time without its zone means a different instant on every machine: it must say which.
const ZONED_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)$/i

export function parseRecoveryTarget(flags: TargetFlags): RecoveryTarget {
  const given = (['to-time', 'to-name', 'to-lsn', 'latest'] as const).filter((key) => Boolean(flags[key]))
  if (given.length !== 1) {
    throw new UsageError(
      given.length === 0
        ? 'no recovery target given'
        : `one recovery target at a time, not ${given.map((g) => `--${g}`).join(' and ')}`,
      'pass one of --latest, --to-time 2026-12-06T09:30:00Z, --to-name NAME, --to-lsn 0/3000060',
    )
  }
  if (flags.latest) return {kind: 'latest'}
  if (flags['to-name'] !== undefined) {
    if (!RESTORE_POINT_NAME.test(flags['to-name'])) {
      throw new UsageError(
        `invalid restore point name '${flags['to-name']}': letters, digits, '_', '.', ':' and '-', at most 63`,
        'stackctl snapshot list shows the names',
      )
    }
    return {kind: 'name', name: flags['to-name']}
  }
  if (flags['to-lsn'] !== undefined) {
    if (!LSN.test(flags['to-lsn'])) {
      throw new UsageError(`invalid LSN '${flags['to-lsn']}'`, 'an LSN looks like 0/3000060 (pg_current_wal_lsn())')
    }
    return {kind: 'lsn', lsn: flags['to-lsn'].toUpperCase()}
  }
  const text = flags['to-time']!
  const time = new Date(text.replace(' ', 'T'))
  if (!ZONED_TIME.test(text) || Number.isNaN(time.getTime())) {
    throw new UsageError(
      `invalid time '${text}': an ISO 8601 time with its zone is needed`,
      'e.g. --to-time 2026-12-06T09:30:00Z or --to-time 2026-12-06T10:30:00+01:00',
    )
  }
  return {kind: 'time', time}
}

export function describeTarget(target: RecoveryTarget): string {
  switch (target.kind) {
    case 'latest':
      return 'the end of the archived WAL'
    case 'time':
      return `time ${target.time.toISOString()}`
    case 'name':
      return `restore point '${target.name}'`
    case 'lsn':
      return `LSN ${target.lsn}`
    case 'snapshot':
      return `snapshot '${target.name}' (backup ${target.label})`
  }
}

export function lsnValue(lsn: string): bigint {
  const [high, low] = lsn.split('/')
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`)
}

const SEGMENT_BYTES = 0x1000000n

/** The LSN just past the end of a WAL segment (16 MB segments), from its file name. */
export function segmentEndLsn(segment: string): bigint {
  const log = BigInt(`0x${segment.slice(8, 16)}`)
  const seg = BigInt(`0x${segment.slice(16, 24)}`)
  return (log << 32n) + (seg + 1n) * SEGMENT_BYTES
}

export function timelineOf(segment: string): number {
  return Number.parseInt(segment.slice(0, 8), 16)
}

/** What the repository can restore: from the oldest backup's end to the last archived segment. */
export interface RecoverableRange {
  from: Date
  fromLsn: string
  lastSegment: string
}

export function recoverableRange(info: RepoInfo): RecoverableRange | undefined {
  const oldest = info.backups[0]
  if (!oldest || !info.archive) return undefined
  return {from: new Date(oldest.stop * 1000), fromLsn: oldest.lsnStop, lastSegment: info.archive.max}
}

export function describeRange(range: RecoverableRange): string {
  return `from ${range.from.toISOString()} (LSN ${range.fromLsn}) to the end of WAL segment ${range.lastSegment}`
}

/** A timeline's ancestors as its history file lists them: each parent and the LSN where it ended. */
export type TimelineHistory = ReadonlyArray<{timeline: number; endLsn: bigint}>

/**
 * The backup a restore to a recorded point starts from: the newest that ended before the point on the point's
 * own history (its timeline, or a parent before that parent ended). A backup taken on a timeline that branched
 * off elsewhere cannot be replayed to the point. `history` undefined: the timeline's history file is not in
 * the archive, so only backups on the point's own timeline can be told to be on its path.
 */
export function backupForPoint(
  point: {lsn: string; timeline: number},
  backups: readonly RepoBackup[],
  history: TimelineHistory | undefined,
): RepoBackup | undefined {
  const at = lsnValue(point.lsn)
  const legs: Array<{timeline: number; begin: bigint; end: bigint}> = []
  let begin = 0n
  for (const {timeline, endLsn} of point.timeline === 1 ? [] : (history ?? [])) {
    legs.push({timeline, begin, end: endLsn})
    begin = endLsn
  }
  legs.push({timeline: point.timeline, begin, end: at})
  const onPath = (backup: RepoBackup) => {
    const stop = lsnValue(backup.lsnStop)
    const timeline = Number.parseInt(backup.archiveStop.slice(0, 8), 16)
    return stop <= at && legs.some((leg) => leg.timeline === timeline && leg.begin <= stop && stop <= leg.end)
  }
  return backups.filter((backup) => onPath(backup)).at(-1)
}

export type BackupChoice = {backup: RepoBackup} | {refused: string}

/**
 * The backup to restore from: the newest one that ends before the target. A target before the oldest backup,
 * or past the last archived WAL as far as it can be told here, is refused with the range. The server refuses
 * the rest itself: since PostgreSQL 13 it does not start when recovery ends before reaching its target.
 * `lastArchivedAt`: the running server's pg_stat_archiver.last_archived_time, when there is one.
 */
export function chooseBackup(target: RecoveryTarget, info: RepoInfo, lastArchivedAt?: Date): BackupChoice {
  const range = recoverableRange(info)
  if (!range) return {refused: 'the repository holds no backup with archived WAL: there is nothing to restore from'}
  const before = (what: string) => ({
    refused: `${describeTarget(target)} is ${what}; the repository can restore ${describeRange(range)}`,
  })
  const newest = info.backups.at(-1)!
  switch (target.kind) {
    case 'latest':
      return {backup: newest}
    case 'name': {
      if (!target.point) return {backup: newest}
      const backup = backupForPoint(target.point, info.backups, target.point.history)
      return backup
        ? {backup}
        : before(
            `on timeline ${target.point.timeline} at LSN ${target.point.lsn}, where no backup in the repository ends before it on that timeline's history`,
          )
    }
    case 'snapshot': {
      const backup = info.backups.find((b) => b.label === target.label)
      return backup ? {backup} : {refused: `${describeTarget(target)} is no longer in the repository`}
    }
    case 'time': {
      const at = target.time.getTime() / 1000
      const usable = info.backups.filter((b) => b.stop <= at)
      if (usable.length === 0) return before('before the oldest backup ended')
      if (lastArchivedAt && target.time > lastArchivedAt) {
        return before(`past the last archived WAL (archived at ${lastArchivedAt.toISOString()})`)
      }
      return {backup: usable.at(-1)!}
    }
    case 'lsn': {
      const want = lsnValue(target.lsn)
      const usable = info.backups.filter((b) => lsnValue(b.lsnStop) <= want)
      if (usable.length === 0) return before('before the oldest backup ended')
      if (want >= segmentEndLsn(range.lastSegment)) return before('past the last archived WAL')
      return {backup: usable.at(-1)!}
    }
  }
}

/**
 * A time as recovery_target_time takes it: PostgreSQL 17 refuses ISO 8601's `2026-12-06T09:30:00.000Z` there
 * ("invalid value for parameter", the server does not start), and takes `2026-12-06 09:30:00.000+00`, which
 * is also pgBackRest's own format.
 */
export function recoveryTime(time: Date): string {
  return time.toISOString().replace('T', ' ').replace('Z', '+00')
}

/** pgBackRest restore's options for a target and a backup set; the server promotes once it is reached. */
export function restoreOptions(target: RecoveryTarget, backup: RepoBackup): string[] {
  const set = `--set=${backup.label}`
  switch (target.kind) {
    case 'latest':
      return [set, '--type=default']
    case 'time':
      return [set, '--type=time', `--target=${recoveryTime(target.time)}`, '--target-action=promote']
    case 'name':
      // A recorded point's own timeline: the default (the newest) leaves it once a later restore branched off.
      return [
        set,
        '--type=name',
        `--target=${target.name}`,
        ...(target.point ? [`--target-timeline=${target.point.timeline}`] : []),
        '--target-action=promote',
      ]
    case 'lsn':
      return [set, '--type=lsn', `--target=${target.lsn}`, '--target-action=promote']
    case 'snapshot':
      return [set, '--type=immediate', '--target-action=promote']
  }
}

/** What the restored server shows once it has left recovery (or failed to). */
export interface RecoveryObservation {
  inRecovery: boolean
  timeline: number
  /** The timeline of the backup restored from. */
  backupTimeline: number
  /** The server's log of the recovery. */
  log: string
  visits: number
  /** The API's counter (sum of visit_counter). */
  counter: number
  newestVisitAt: Date | null
  /** The highest restored visit id (0 without visits). */
  maxVisitId: number
  /** Where the new timeline branched off (its history file's last line): where the replay ended. */
  branchLsn?: string
  /** The last WAL segment the repository held when the restore began. */
  archiveEnd?: string
}

/** Why the restored cluster does not prove the target was reached; empty when it does. */
export function proofFailures(target: RecoveryTarget, seen: RecoveryObservation): string[] {
  const failures: string[] = []
  if (seen.inRecovery) failures.push('the server is still in recovery')
  if (seen.timeline <= seen.backupTimeline) {
    failures.push(`the server stayed on timeline ${seen.timeline}: it did not finish recovery and start a new one`)
  }
  if (target.kind !== 'latest' && !/recovery stopping (before|after|at)/.test(seen.log)) {
    failures.push("the server's log has no 'recovery stopping' line: recovery did not stop at the target")
  }
  if (target.kind === 'name' && !seen.log.includes(`recovery stopping at restore point "${target.name}"`)) {
    failures.push(`the server's log does not say it stopped at restore point "${target.name}"`)
  }
  // Without a target, recovery ends wherever the archived WAL stops: a missing segment ends it early, silently.
  if (target.kind === 'latest' && seen.branchLsn !== undefined && seen.archiveEnd !== undefined) {
    if (lsnValue(seen.branchLsn) < segmentEndLsn(seen.archiveEnd) - SEGMENT_BYTES) {
      failures.push(
        `the replay ended at ${seen.branchLsn}, before the last archived WAL segment ${seen.archiveEnd}: a segment on the way is missing from the archive or unreadable`,
      )
    }
  }
  if (seen.counter !== seen.visits) {
    failures.push(`the visit counter says ${seen.counter} but ${seen.visits} visits were restored`)
  }
  if (target.kind === 'snapshot') failures.push(...snapshotProofFailures(target, seen))
  if (target.kind === 'time' && seen.newestVisitAt && seen.newestVisitAt > target.time) {
    failures.push(`the newest restored visit is from ${seen.newestVisitAt.toISOString()}, after the target`)
  }
  return failures
}

/** The backup's consistency point, and the visits the snapshot recorded: what tells one snapshot from another. */
function snapshotProofFailures(target: SnapshotTarget, seen: RecoveryObservation): string[] {
  const failures: string[] = []
  if (!seen.log.includes('recovery stopping after reaching consistency')) {
    failures.push("the server's log does not say recovery stopped at the backup's consistency point")
  }
  if (seen.branchLsn === undefined) {
    failures.push("the new timeline's history does not say where recovery ended")
  } else if (lsnValue(seen.branchLsn) !== lsnValue(target.consistentLsn)) {
    failures.push(`recovery ended at ${seen.branchLsn}, not at the backup's consistency point ${target.consistentLsn}`)
  }
  const want = target.visits
  if (want && (seen.visits < want.min || seen.visits > want.max)) {
    const recorded = want.min === want.max ? `${want.min}` : `${want.min} to ${want.max}`
    failures.push(`${seen.visits} visits were restored but the snapshot recorded ${recorded}`)
  }
  return failures
}

/** What a client's connection attempt is told while the server starts or stops: never why the server stopped. */
const REFUSED_CONNECTION =
  /the database system is (starting up|shutting down|not yet accepting connections|in recovery mode)|not yet accepting connections/

/**
 * Why a recovery server stopped, from the end of its log: its last PANIC or FATAL that is not a refused
 * connection (stackctl's own probes collect those while it starts), else its last ERROR, else its last line.
 */
export function recoveryStopReason(log: string): string {
  const lines = log.split('\n').map((line) => line.trim())
  const last = (pattern: RegExp) =>
    lines
      .map((line) => pattern.exec(line)?.[1])
      .filter((said): said is string => said !== undefined && !REFUSED_CONNECTION.test(said))
      .at(-1)
  const said = last(/(?:PANIC|FATAL):\s+(.*)/) ?? last(/ERROR:\s+(.*)/)
  if (said) return said
  const tail = lines.filter(Boolean).at(-1)
  return tail ? `its log ends: ${tail}` : 'its log is empty'
}
