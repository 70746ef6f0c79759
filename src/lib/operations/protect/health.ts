/**
 * Archiving health for `doctor` (and `status`): never silent. Archiving fails when the archiver's last
 * attempt failed after its last success; it lags when a finished segment has waited to be archived longer
 * than 2 × archive_timeout. An idle server archives nothing, which is neither. The judgement is pure.
 */
import {runningService} from '../../engine/services.js'
import {type CommandFor, commandsFor, plainCommand, stackCommand} from '../../model/config/command-line.js'
import {backupsVolumeName, ARCHIVE_TIMEOUT_SECONDS} from '../../model/protection.js'
import type {StackContext} from '../../stack/context.js'
import {formatBytes} from '../backup-restore/format.js'
import {Psql} from '../db/psql.js'
import type {CheckResult} from '../doctor/checks.js'
import {findGaps, gapCheck} from './continuity.js'
import {readRepoFacts, repositoryFull, type RepoFacts} from './repo-space.js'

export interface ArchiverFacts {
  archiveMode: string
  archivedCount: number
  lastArchivedWal: string
  lastArchivedAt: number
  failedCount: number
  lastFailedWal: string
  lastFailedAt: number
  /** Segments finished and not archived yet (.ready), and since when the oldest waits (ms since the epoch). */
  waiting: number
  oldestWaitingSince: number
  pgWalBytes: number
  now: number
  /** wal_segment_size: what pg_wal grows by for each segment that waits. */
  segmentBytes: number
  /** ms since the epoch: pg_stat_archiver starts empty with the server (after a crash too). */
  serverStartedAt?: number
}

export const ARCHIVER_SQL = `SELECT current_setting('archive_mode') || '|' || archived_count || '|' ||
  coalesce(last_archived_wal, '') || '|' || coalesce((extract(epoch FROM last_archived_time) * 1000)::bigint, 0) || '|' ||
  failed_count || '|' || coalesce(last_failed_wal, '') || '|' ||
  coalesce((extract(epoch FROM last_failed_time) * 1000)::bigint, 0) || '|' ||
  (SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready') || '|' ||
  coalesce((SELECT (extract(epoch FROM min(modification)) * 1000)::bigint FROM pg_ls_archive_statusdir()
    WHERE name LIKE '%.ready'), 0) || '|' ||
  (SELECT coalesce(sum(size), 0) FROM pg_ls_waldir()) || '|' || (extract(epoch FROM now()) * 1000)::bigint || '|' ||
  current_setting('wal_segment_size')::text || '|' || (extract(epoch FROM pg_postmaster_start_time()) * 1000)::bigint
  FROM pg_stat_archiver`

export function parseArchiverFacts(line: string): ArchiverFacts {
  const [
    mode,
    archived,
    lastWal,
    lastAt,
    failed,
    failedWal,
    failedAt,
    waiting,
    oldest,
    walBytes,
    now,
    segment,
    started,
  ] = line.split('|')
  return {
    archiveMode: mode,
    archivedCount: Number(archived),
    lastArchivedWal: lastWal,
    lastArchivedAt: Number(lastAt),
    failedCount: Number(failed),
    lastFailedWal: failedWal,
    lastFailedAt: Number(failedAt),
    waiting: Number(waiting),
    oldestWaitingSince: Number(oldest),
    pgWalBytes: Number(walBytes),
    now: Number(now),
    segmentBytes: parseSize(segment) ?? 16 * MIB,
    ...(started ? {serverStartedAt: Number(started)} : {}),
  }
}

/** current_setting('wal_segment_size') reads `16MB`; older answers may be bytes. */
function parseSize(text: string | undefined): number | undefined {
  const match = /^(\d+)\s*(B|kB|MB|GB)?$/.exec(text?.trim() ?? '')
  if (!match) return undefined
  const unit = {B: 1, kB: 1024, MB: MIB, GB: 1024 * MIB}[match[2] ?? 'B'] ?? 1
  return Number(match[1]) * unit
}

const MIB = 1024 * 1024
const mib = (bytes: number) => `${(bytes / MIB).toFixed(0)} MiB`

export function judgeArchiving(
  facts: ArchiverFacts,
  project: string,
  repo: RepoFacts = {},
  command: CommandFor = plainCommand,
): CheckResult {
  const name = 'archiving'
  const seconds = (ms: number) => `${Math.round((facts.now - ms) / 1000)} s`
  const wal = `pg_wal ${mib(facts.pgWalBytes)}`
  const volume = backupsVolumeName(project)
  const space = repo.space
    ? `repository ${formatBytes(repo.space.usedBytes)}, ${formatBytes(repo.space.freeBytes)} free of ${formatBytes(repo.space.sizeBytes)}`
    : undefined
  if (facts.archiveMode !== 'on') {
    return {
      name,
      status: 'fail',
      detail: `archive_mode is ${facts.archiveMode} although the stack archives its WAL`,
      fix: `${command('up')} (recreates the db with archiving on), unless an override file gives the db a command of its own: it replaces stackctl's archiving settings`,
    }
  }
  if (facts.lastFailedAt > facts.lastArchivedAt) {
    // The segments that wait stay in pg_wal until they are archived: that is how far it has grown, and why.
    const segments = facts.waiting === 1 ? '1 finished segment waits' : `${facts.waiting} finished segments wait`
    const growth = `${wal} and growing: ${segments} in it (${mib(facts.waiting * facts.segmentBytes)}), ${mib(facts.segmentBytes)} more for each until archiving resumes`
    const attempts = `segment ${facts.lastFailedWal} failed ${seconds(facts.lastFailedAt)} ago (${facts.failedCount} failed attempts since the server started)`
    const said = repo.lastError ? `pgBackRest: ${repo.lastError}` : undefined
    if (repositoryFull(repo, facts.segmentBytes)) {
      const free = repo.space
        ? `${formatBytes(repo.space.freeBytes)} free of ${formatBytes(repo.space.sizeBytes)}`
        : 'no space left'
      return {
        name,
        status: 'fail',
        detail: `archiving fails: the backup repository is full (volume ${volume}: ${free})${said ? `, ${said}` : ''}; ${attempts}; ${growth}`,
        fix: `make room on the filesystem that holds volume ${volume}: archiving then resumes by itself and sends every waiting segment (keep pg_wal and the repository's files: they are the recovery point)`,
      }
    }
    return {
      name,
      status: 'fail',
      detail: `archiving fails: ${said ? `${said}; ` : ''}${attempts}; ${growth}${space ? `; ${space}` : ''}`,
      fix: `${command('logs db')} shows pgBackRest's whole message; archiving resumes by itself once its cause is fixed`,
    }
  }
  const limitMs = 2 * ARCHIVE_TIMEOUT_SECONDS * 1000
  if (facts.waiting > 0 && facts.now - facts.oldestWaitingSince > limitMs) {
    return {
      name,
      status: 'fail',
      detail: `archiving lags: ${facts.waiting} segments wait, the oldest for ${seconds(facts.oldestWaitingSince)} (limit ${limitMs / 1000} s); ${wal}`,
      fix: `${command('logs db')} shows whether pgBackRest is slow or stuck`,
    }
  }
  const continuity = repo.archive ? findGaps(repo.archive, facts.segmentBytes) : undefined
  const gap = continuity && gapCheck(continuity, command)
  if (gap) return {name, ...gap}
  const newest = continuity?.newest
  // pg_stat_archiver starts empty with the server, after a crash too: the repository still says what it holds.
  const since = facts.serverStartedAt ? ` since the server started ${seconds(facts.serverStartedAt)} ago` : ''
  const last = facts.lastArchivedWal
    ? `last archived ${facts.lastArchivedWal} ${seconds(facts.lastArchivedAt)} ago`
    : newest
      ? `nothing archived${since || ' since the server started'}; the archive's newest segment is ${newest.name}, archived ${seconds(newest.archivedAt)} ago`
      : 'nothing archived yet'
  return {
    name,
    status: 'ok',
    detail: `${last}, ${facts.failedCount} failed attempts, ${facts.waiting} waiting; ${wal}${space ? `; ${space}` : ''}`,
  }
}

/** undefined when the stack does not archive its WAL. */
export async function archivingCheck(ctx: StackContext): Promise<CheckResult | undefined> {
  if (!ctx.config.walArchive) return undefined
  const settings = ctx.state?.settings
  if (settings?.resolvedImageSource === 'registry') {
    // Wanted (the default) but not possible: the official images have no pgBackRest, and up said so.
    return {
      name: 'archiving',
      status: 'warn',
      detail:
        'off: the official registry image the db runs has no pgBackRest, so the WAL is not archived and the data is protected by its volume alone',
      fix: `archive with the local images: ${stackCommand(ctx.config, 'up --image-source local')}`,
    }
  }
  const db = await runningService(ctx.engine, ctx.config.project, 'db')
  // A stack never started has nothing to archive yet: no cause for a warning (up starts archiving with it).
  if (!db && !ctx.state) return {name: 'archiving', status: 'ok', detail: 'not checked: the stack was not started yet'}
  if (!db) return {name: 'archiving', status: 'warn', detail: 'not checked: the db is not running'}
  const [line, repo] = await Promise.all([
    new Psql(ctx.engine, db.id).tryQuery(ARCHIVER_SQL, 'postgres'),
    readRepoFacts(ctx.engine, db.id),
  ])
  if (!line) return {name: 'archiving', status: 'warn', detail: 'not checked: the db did not answer'}
  return judgeArchiving(parseArchiverFacts(line), ctx.config.project, repo, commandsFor(ctx.config))
}

/** What `status` shows: doctor's judgement, every key present. */
export interface ArchivingStatus {
  status: CheckResult['status']
  detail: string
  fix: string | null
}

export async function archivingStatus(ctx: StackContext): Promise<ArchivingStatus | null> {
  const check = await archivingCheck(ctx)
  return check ? {status: check.status, detail: check.detail, fix: check.fix ?? null} : null
}

/** status's lines: `archive  ok: …`, and the fix beneath a warning or a failure. */
export function archivingLines(archiving: ArchivingStatus, key = 'archive'): string[] {
  const label = archiving.status === 'fail' ? 'FAILING' : archiving.status
  const lines = [`${key.padEnd(8)} ${label}: ${archiving.detail}`]
  if (archiving.fix) lines.push(`         fix: ${archiving.fix}`)
  return lines
}
