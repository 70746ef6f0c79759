/**
 * Archiving health for `doctor` (and `status`): never silent. Archiving fails when the archiver's last
 * attempt failed after its last success; it lags when a finished segment has waited to be archived longer
 * than 2 × archive_timeout. An idle server archives nothing, which is neither. The judgement is pure.
 */
import {runningService} from '../../engine/services.js'
import {backupsVolumeName, ARCHIVE_TIMEOUT_SECONDS} from '../../model/protection.js'
import type {StackContext} from '../../stack/context.js'
import {Psql} from '../db/psql.js'
import type {CheckResult} from '../doctor/checks.js'

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
}

export const ARCHIVER_SQL = `SELECT current_setting('archive_mode') || '|' || archived_count || '|' ||
  coalesce(last_archived_wal, '') || '|' || coalesce((extract(epoch FROM last_archived_time) * 1000)::bigint, 0) || '|' ||
  failed_count || '|' || coalesce(last_failed_wal, '') || '|' ||
  coalesce((extract(epoch FROM last_failed_time) * 1000)::bigint, 0) || '|' ||
  (SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready') || '|' ||
  coalesce((SELECT (extract(epoch FROM min(modification)) * 1000)::bigint FROM pg_ls_archive_statusdir()
    WHERE name LIKE '%.ready'), 0) || '|' ||
  (SELECT coalesce(sum(size), 0) FROM pg_ls_waldir()) || '|' || (extract(epoch FROM now()) * 1000)::bigint
  FROM pg_stat_archiver`

export function parseArchiverFacts(line: string): ArchiverFacts {
  const [mode, archived, lastWal, lastAt, failed, failedWal, failedAt, waiting, oldest, walBytes, now] = line.split('|')
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
  }
}

const MIB = 1024 * 1024

export function judgeArchiving(facts: ArchiverFacts, project: string): CheckResult {
  const name = 'archiving'
  const seconds = (ms: number) => `${Math.round((facts.now - ms) / 1000)} s`
  const wal = `pg_wal ${(facts.pgWalBytes / MIB).toFixed(0)} MiB`
  if (facts.archiveMode !== 'on') {
    return {
      name,
      status: 'fail',
      detail: `archive_mode is ${facts.archiveMode} although the stack archives its WAL`,
      fix: 'stackctl up (recreates the db with archiving on)',
    }
  }
  if (facts.lastFailedAt > facts.lastArchivedAt) {
    return {
      name,
      status: 'fail',
      detail: `archiving fails: segment ${facts.lastFailedWal} failed ${seconds(facts.lastFailedAt)} ago (${facts.failedCount} failed attempts since the server started), ${facts.waiting} segments wait; ${wal}`,
      fix: `stackctl logs db shows pgBackRest's reason; check that volume ${backupsVolumeName(project)} has room`,
    }
  }
  const limitMs = 2 * ARCHIVE_TIMEOUT_SECONDS * 1000
  if (facts.waiting > 0 && facts.now - facts.oldestWaitingSince > limitMs) {
    return {
      name,
      status: 'fail',
      detail: `archiving lags: ${facts.waiting} segments wait, the oldest for ${seconds(facts.oldestWaitingSince)} (limit ${limitMs / 1000} s); ${wal}`,
      fix: 'stackctl logs db shows whether pgBackRest is slow or stuck',
    }
  }
  const last = facts.lastArchivedWal
    ? `last archived ${facts.lastArchivedWal} ${seconds(facts.lastArchivedAt)} ago`
    : 'nothing archived yet'
  return {name, status: 'ok', detail: `${last}, ${facts.failedCount} failed attempts, ${facts.waiting} waiting; ${wal}`}
}

/** undefined when the stack does not archive its WAL. */
export async function archivingCheck(ctx: StackContext): Promise<CheckResult | undefined> {
  if (!ctx.config.walArchive) return undefined
  const db = await runningService(ctx.engine, ctx.config.project, 'db')
  if (!db) return {name: 'archiving', status: 'warn', detail: 'not checked: the db is not running'}
  const line = await new Psql(ctx.engine, db.id).tryQuery(ARCHIVER_SQL, 'postgres')
  if (!line) return {name: 'archiving', status: 'warn', detail: 'not checked: the db did not answer'}
  return judgeArchiving(parseArchiverFacts(line), ctx.config.project)
}
