/**
 * What `up` does for a stack that archives its WAL: the repository's volume before Compose starts the db,
 * then, once the db answers, the stanza and a first full backup (without one there is nothing to restore the
 * archived WAL onto). Both are no-ops when already done, so every `up` may call them.
 */
import {describeSchedule} from '../../model/backup-schedule.js'
import {ensureBackupSchedule} from './schedule.js'
import type {Engine} from '../../engine/engine.js'
import {runningService} from '../../engine/services.js'
import {EnvironmentError, StackctlError} from '../../errors.js'
import {LABELS} from '../../model/config/labels.js'
import {backupsVolumeName} from '../../model/protection.js'
import {stackCommand} from '../../model/config/command-line.js'
import {writeState} from '../../model/stackdir/stack-files.js'
import type {StackContext} from '../../stack/context.js'
import {Psql} from '../db/psql.js'
import {mustPgbackrest, parseRepoInfo, type RepoInfo} from './pgbackrest.js'

export const BACKUPS_ROLE_LABEL = 'io.stackctl.volume-role'

/**
 * Creates `<project>_backups` with the stack's labels. One that exists is used only when it is this stack's (its
 * stack id) or the user adopted it (--adopt, remembered in stack.json): pgBackRest writes its repository into
 * it, so a volume of the same name made by hand, by another tool or by another stack is never taken silently.
 */
export async function ensureBackupsVolume(ctx: StackContext): Promise<'created' | 'present'> {
  const {project} = ctx.config
  const name = backupsVolumeName(project)
  const stackId = ctx.state?.stackId
  const existing = await ctx.engine.volumes.inspect(name)
  if (existing) {
    const owner = existing.labels[LABELS.stackId]
    if ((owner !== undefined && owner === stackId) || ctx.state?.adopted?.backups === name) return 'present'
    if (!ctx.adopt) {
      const whose = owner
        ? `holds the backups of another stack (stack id ${owner}), not this one's`
        : 'exists and was not created by this stack (no io.stackctl stack id)'
      throw new EnvironmentError(
        `volume ${name} ${whose}: stackctl keeps its WAL archive only in a volume it created or you adopted`,
        `keep it and start this stack with another --project-name, or with --no-wal-archive; to keep the archive in it, ${stackCommand(ctx.config, 'up --adopt')}`,
      )
    }
    // --adopt: remembered, so the next up takes it without asking again (a volume's labels cannot change).
    ctx.progress(`adopting: volume ${name} as the WAL archive's repository`)
    if (ctx.state) {
      const state = {...ctx.state, adopted: {...ctx.state.adopted, backups: name}}
      await writeState(ctx.paths, state)
      ctx.state = state
    }
    return 'present'
  }
  await ctx.engine.volumes.create({
    name,
    labels: {
      ...(stackId ? {[LABELS.stackId]: stackId} : {}),
      [LABELS.project]: project,
      [BACKUPS_ROLE_LABEL]: 'backups',
    },
  })
  return 'created'
}

export interface ProtectionStart {
  stanza: 'created' | 'present' | 'moved'
  /** The full backup `up` took, or undefined when the repository already had one of this cluster. */
  firstBackup?: {label: string; seconds: number}
  /** The stanza's cluster, when the running db is another one it will not follow (its WAL is refused). */
  foreign?: {systemId: string; major: string}
}

/** The running cluster as pgBackRest identifies it. */
export interface RunningCluster {
  major: number
  systemId: string
}

/**
 * Whether the stanza should follow the running cluster (pgBackRest's `stanza-upgrade`, which adds it to the
 * stanza's db history: the earlier clusters' backups and WAL stay, under their own archive ids). Only for a
 * cluster stackctl switched to: one the archive held before (db rollback, an upgrade's switch back: pgBackRest
 * matches it to its newest db entry), or the new major `db upgrade` switched the stack to. Never for another
 * cluster of the same major (a fresh one after `down --volumes`): taking the archive over would bury the
 * data it protects under an empty cluster's history.
 */
export function archiveFollows(
  info: Pick<RepoInfo, 'systemId' | 'pgVersion' | 'history'>,
  running: RunningCluster,
  upgradedTo: boolean,
): 'same' | 'follow' | 'foreign' {
  if (!info.systemId || !info.pgVersion) return 'same'
  const major = Number.parseInt(info.pgVersion, 10)
  if (info.systemId === running.systemId && major === running.major) return 'same'
  const known = (info.history ?? []).some(
    (db) => db.systemId === running.systemId && Number.parseInt(db.version, 10) === running.major,
  )
  if (known || (upgradedTo && major !== running.major)) return 'follow'
  return 'foreign'
}

export const RUNNING_CLUSTER_SQL =
  "SELECT current_setting('server_version_num')::int / 10000 || '|' || system_identifier FROM pg_control_system()"

export async function runningCluster(engine: Engine, dbId: string): Promise<RunningCluster | undefined> {
  const answer = await new Psql(engine, dbId).tryQuery(RUNNING_CLUSTER_SQL, 'postgres')
  const [major, systemId] = (answer ?? '').split('|')
  return major && systemId ? {major: Number(major), systemId} : undefined
}

/**
 * The stanza, moved to the running cluster when stackctl switched to it, and a first full backup of it.
 * `known`: what the caller has already asked of the db: the running cluster (DB_FACTS_SQL) and pgBackRest's
 * `info --output=json`, started alongside; what it does not give is asked here.
 */
export async function ensureStanzaAndFirstBackup(
  ctx: StackContext,
  signal?: AbortSignal,
  known: {running?: RunningCluster; info?: Promise<string>} = {},
): Promise<ProtectionStart> {
  const db = await runningService(ctx.engine, ctx.config.project, 'db')
  if (!db) throw new EnvironmentError('the db is not running, so its WAL archive cannot be set up', 'stackctl up')
  const engine: Engine = ctx.engine
  let info = parseRepoInfo(await (known.info ?? mustPgbackrest(engine, db.id, 'info', ['--output=json'], signal)))
  let stanza: ProtectionStart['stanza'] = info.status === 'missing stanza' ? 'created' : 'present'
  // stanza-create is idempotent; it also repairs a stanza whose info files a killed run left half-written.
  if (stanza === 'created' || info.backups.length === 0)
    await mustPgbackrest(engine, db.id, 'stanza-create', [], signal)
  const running = stanza !== 'present' ? undefined : (known.running ?? (await runningCluster(engine, db.id)))
  const upgradedTo = (ctx.state?.switches ?? []).some((s) => s.kind === 'upgrade' && s.to.volume === ctx.config.volume)
  const follows = running ? archiveFollows(info, running, upgradedTo) : 'same'
  if (running && follows === 'follow') {
    ctx.progress(
      `the WAL archive follows the running cluster (PostgreSQL ${running.major}, system identifier ${running.systemId}): pgBackRest stanza-upgrade; the backups and WAL of PostgreSQL ${info.pgVersion} (system identifier ${info.systemId}) stay in the repository`,
    )
    await mustPgbackrest(engine, db.id, 'stanza-upgrade', [], signal)
    if (process.env.STACKCTL_TEST_FAIL_ARCHIVE_MOVE) {
      throw new StackctlError(
        'the full backup after stanza-upgrade was made to fail (STACKCTL_TEST_FAIL_ARCHIVE_MOVE is set)',
      )
    }
    stanza = 'moved'
  } else if (info.backups.length > 0) {
    return follows === 'foreign' ? {stanza, foreign: {systemId: info.systemId!, major: info.pgVersion!}} : {stanza}
  }
  ctx.progress(
    stanza === 'moved'
      ? `taking a full backup of PostgreSQL ${running!.major} (pgBackRest), so its archived WAL has a base to restore onto`
      : 'taking the first full backup (pgBackRest), so the archived WAL has a base to restore onto',
  )
  const started = Date.now()
  // No automatic expiry: an earlier cluster's backups (the major before a db upgrade) and named snapshots stay.
  await mustPgbackrest(engine, db.id, 'backup', ['--type=full', '--no-expire-auto'], signal)
  info = parseRepoInfo(await mustPgbackrest(engine, db.id, 'info', ['--output=json'], signal))
  const label = info.backups.at(-1)?.label ?? 'unknown'
  return {stanza, firstBackup: {label, seconds: (Date.now() - started) / 1000}}
}

/**
 * archive_timeout holds only once the checkpointer has woken after the server left startup. It is started
 * before the startup process and, while that runs, goes to sleep for up to checkpoint_timeout (5 min) without
 * the archive_timeout bound (which it applies only outside recovery); a start after a clean shutdown
 * requests no checkpoint, so nothing wakes it. Seen after every restart and every db restore: writes stayed
 * in the open segment for minutes, nothing archived, no failed attempt. A reload (SIGHUP) wakes it, and from
 * then on it sleeps at most archive_timeout. Harmless on a server that does not archive: it is not sent.
 */
export const WAKE_ARCHIVE_TIMEOUT_SQL = `SELECT CASE WHEN current_setting('archive_mode') <> 'off'
  AND current_setting('archive_timeout') <> '0' THEN pg_reload_conf() END`

/** For every start of the db (up, start, restart, a restore's switch), once it accepts connections. */
export async function wakeArchiveTimeout(ctx: StackContext): Promise<void> {
  const db = await runningService(ctx.engine, ctx.config.project, 'db')
  if (db) await new Psql(ctx.engine, db.id).tryQuery(WAKE_ARCHIVE_TIMEOUT_SQL, 'postgres')
}

/**
 * What `up` asks the ready db, in one psql (each is an exec in the container): it wakes archive_timeout
 * (WAKE_ARCHIVE_TIMEOUT_SQL), and reads archive_mode and the running cluster (RUNNING_CLUSTER_SQL).
 */
export const DB_FACTS_SQL = `SELECT (${WAKE_ARCHIVE_TIMEOUT_SQL.replace(/^SELECT /, '')}) IS NOT NULL,
  current_setting('archive_mode'), current_setting('server_version_num')::int / 10000, system_identifier
  FROM pg_control_system()`

export interface DbFacts {
  archiveMode: string
  running: RunningCluster
}

/** psql's unaligned row of DB_FACTS_SQL (`t|on|17|7434…`); undefined for anything else. */
export function parseDbFacts(answer: string | undefined): DbFacts | undefined {
  const [, archiveMode, major, systemId, ...rest] = (answer ?? '').split('|')
  if (rest.length > 0 || !archiveMode || !/^\d+$/.test(major ?? '') || !/^\d+$/.test(systemId ?? '')) return undefined
  return {archiveMode, running: {major: Number(major), systemId}}
}

/** `up`'s two calls: before Compose starts anything, and once the stack is ready. */
export async function beforeStart(ctx: StackContext, archive: {on: boolean; note?: string}): Promise<void> {
  if (archive.note) ctx.progress(archive.note)
  if (archive.on && (await ensureBackupsVolume(ctx)) === 'created') {
    ctx.progress(`created volume ${backupsVolumeName(ctx.config.project)} for the WAL archive and backups`)
  }
}

export async function afterReady(ctx: StackContext, archive: {on: boolean}, signal?: AbortSignal): Promise<void> {
  if (!archive.on) return
  const db = await runningService(ctx.engine, ctx.config.project, 'db')
  // pgBackRest's info (only read) runs while psql asks the db: two execs at once, not one after the other. Its
  // failure is reported where it is used; with archive_mode off it is not used.
  const info = db ? mustPgbackrest(ctx.engine, db.id, 'info', ['--output=json'], signal) : undefined
  info?.catch(() => {})
  // Also wakes archive_timeout: a db the engine restarted on its own is found running, and up then starts nothing.
  const facts = db ? parseDbFacts(await new Psql(ctx.engine, db.id).tryQuery(DB_FACTS_SQL, 'postgres')) : undefined
  if (facts?.archiveMode === 'off') {
    // The rendered db always has it on: only the user's own command for the db (an override file) replaces it.
    ctx.progress(
      `warning: WAL archiving is off: the running db has archive_mode=off (a db command in an override file replaces stackctl's archiving settings), so no WAL reaches ${backupsVolumeName(ctx.config.project)}; add them to that command (docker-compose.yml in the stack directory shows them), or ${stackCommand(ctx.config, 'up --no-wal-archive')} stops asking for archiving`,
    )
    return
  }
  const started = await ensureStanzaAndFirstBackup(ctx, signal, {running: facts?.running, info})
  if (started.foreign) {
    // After down --volumes and up: the archive keeps the deleted cluster's WAL, and refuses this one's.
    ctx.progress(
      `warning: WAL archiving fails for this db: ${backupsVolumeName(ctx.config.project)} holds the archive of another cluster (PostgreSQL ${started.foreign.major}, system identifier ${started.foreign.systemId}: the data that down --volumes, or a volume removed by hand, deleted), and pgBackRest refuses this db's WAL there; ${stackCommand(ctx.config, 'db restore --latest')} brings that data back, ${stackCommand(ctx.config, 'up --no-wal-archive')} stops archiving this db`,
    )
  }
  if (started.firstBackup) {
    ctx.progress(
      started.stanza === 'moved'
        ? `WAL archiving on for PostgreSQL ${ctx.config.pgMajor}: full backup ${started.firstBackup.label} in ${started.firstBackup.seconds.toFixed(1)} s`
        : `WAL archiving on: first full backup ${started.firstBackup.label} in ${started.firstBackup.seconds.toFixed(1)} s`,
    )
  }
  // Last: the loop must find the first full backup (or the stanza moved) already done.
  if (started.foreign) return
  if ((await ensureBackupSchedule(ctx, db)) === 'started' && ctx.config.backupSchedule) {
    ctx.progress(`scheduled backups: ${describeSchedule(ctx.config.backupSchedule)}`)
  }
}
