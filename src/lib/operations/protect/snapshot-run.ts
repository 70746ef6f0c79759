/**
 * `stackctl snapshot create | list | restore | delete`: named pgBackRest backups in the stack's WAL archive.
 * create takes a full backup annotated with the name and the visits it holds; restore is `db restore`'s
 * point-in-time restore with that backup set as its target (a new volume, proven, the old one kept); delete
 * expires the one backup set and nothing else (never a volume, never archived WAL).
 */
import {randomBytes} from 'node:crypto'
import {setTimeout as sleep} from 'node:timers/promises'

import {checkInterrupted} from '../../cli/interrupt.js'
import type {ContainerSummary, ExecResult} from '../../engine/engine.js'
import {runningService} from '../../engine/services.js'
import {Interrupted, StackctlError, UsageError} from '../../errors.js'
import {stackCommand} from '../../model/config/command-line.js'
import {backupsVolumeName, STANZA} from '../../model/protection.js'
import {phaseRunner, type StepRunner} from '../../plan/runner.js'
import type {StackContext} from '../../stack/context.js'
import type {ImageResolver} from '../../stack/images.js'
import {claimStack} from '../../stack/ownership.js'
import {Psql} from '../db/psql.js'
import {DB_OS_USER} from '../../model/config/stack-config.js'
import {currentCluster, mustPgbackrest, parseRepoInfo, runPgbackrest, type RepoInfo} from './pgbackrest.js'
import {describeRange, recoverableRange} from './recovery.js'
import {writePointRecord} from './restore-point.js'
import {parseRepoSpace, REPO_SPACE_COMMAND, repositoryFull, type RepoSpace} from './repo-space.js'
import {formatBytes} from '../backup-restore/format.js'
import {otherMajorHint, repoInfo, restoreToPoint, type DbRestoreResult} from './restore.js'
import {
  defaultSnapshotName,
  deleteRefusal,
  formatVisits,
  NAME_KEY,
  pickSnapshot,
  snapshotsOf,
  snapshotTarget,
  validateSnapshotName,
  VISITS_KEY,
  type Snapshot,
  type VisitRange,
} from './snapshot.js'

export type Confirm = (question: string, expected: string) => Promise<boolean>

export interface SnapshotCreateResult {
  project: string
  name: string
  label: string
  type: Snapshot['type']
  at: string
  sizeBytes: number
  visits: VisitRange
  seconds: number
}

const COUNT_VISITS = `SELECT CASE WHEN to_regclass('public.visits') IS NULL THEN 0 ELSE (SELECT count(*) FROM visits) END`

/** The running db of a stack that archives its WAL, or a refusal with the command that makes it so. */
async function archivingDb(ctx: StackContext): Promise<ContainerSummary> {
  const command = (verb: string) => stackCommand(ctx.config, verb)
  if (!ctx.config.walArchive || !(await ctx.engine.volumes.inspect(backupsVolumeName(ctx.config.project)))) {
    throw new UsageError(
      `stack '${ctx.config.project}' does not archive its WAL: a snapshot lives in that archive`,
      `${command('up --wal-archive --image-source local')} turns archiving on`,
    )
  }
  const db = await runningService(ctx.engine, ctx.config.project, 'db')
  if (!db) {
    throw new UsageError(`the db of stack '${ctx.config.project}' is not running`, `${command('up')} starts it`)
  }
  const mode = await new Psql(ctx.engine, db.id).tryQuery('SHOW archive_mode', 'postgres')
  if (mode !== 'on' && mode !== 'always') {
    throw new UsageError(
      `the db of stack '${ctx.config.project}' runs without WAL archiving (archive_mode ${mode ?? 'unknown'})`,
      `${command('up --wal-archive --image-source local')} turns it on`,
    )
  }
  return db
}

async function liveInfo(ctx: StackContext, db: ContainerSummary): Promise<RepoInfo> {
  const info = parseRepoInfo(await mustPgbackrest(ctx.engine, db.id, 'info', ['--output=json']))
  if (info.status === 'missing stanza') {
    throw new UsageError(
      `the WAL archive of stack '${ctx.config.project}' is not set up yet (no pgBackRest stanza)`,
      `${stackCommand(ctx.config, 'up')} sets it up`,
    )
  }
  return info
}

export async function createSnapshot(
  ctx: StackContext,
  options: {name?: string; signal?: AbortSignal; steps?: StepRunner},
): Promise<SnapshotCreateResult> {
  const started = Date.now()
  const runner = options.steps ?? phaseRunner(ctx)
  runner.signal ??= options.signal
  const name = validateSnapshotName(options.name ?? defaultSnapshotName(ctx.config.project, new Date()))
  const {db, psql} = await runner.step('pre-flight', async () => {
    await ctx.engine.ping()
    await claimStack(ctx, {adopt: ctx.adopt})
    const db = await archivingDb(ctx)
    const taken = snapshotsOf(await liveInfo(ctx, db)).find((s) => s.name === name)
    if (taken) {
      throw new UsageError(
        `a snapshot named '${name}' exists (taken ${taken.at}): names are unique; nothing was changed`,
        `pick another name; ${stackCommand(ctx.config, 'snapshot list')} shows the names`,
      )
    }
    return {db, psql: new Psql(ctx.engine, db.id)}
  })
  const before = Number(await psql.query(COUNT_VISITS))
  checkInterrupted(options.signal, 'nothing was changed')
  const taken = await runner.step('backup', () => backup(ctx, db, name, before, options.signal), {
    failedIf: (result) => !('label' in result),
  })
  if (!('label' in taken)) {
    if (taken.waiting) {
      throw new Interrupted(
        `snapshot create stopped while waiting for the other backup to end: no snapshot '${name}' was taken; nothing was changed`,
      )
    }
    // The repository is the judge: a backup that finished as the signal came is a complete snapshot, said so.
    const finished = snapshotsOf(await liveInfo(ctx, db)).find((s) => s.name === name)
    throw new Interrupted(
      finished
        ? `snapshot create stopped, but the backup had finished: snapshot '${name}' (${finished.label}) is complete and kept`
        : `snapshot create stopped: the unfinished backup was stopped (pgBackRest keeps no partial backup as a snapshot); no snapshot '${name}' was taken`,
      finished ? `${stackCommand(ctx.config, `snapshot delete ${name}`)} deletes it` : undefined,
    )
  }
  const {label} = taken
  // The API may write while the backup runs: the snapshot then holds a count between the two.
  const after = Number(await psql.query(COUNT_VISITS))
  const visits = {min: Math.min(before, after), max: Math.max(before, after)}
  if (after !== before) {
    // annotate takes pgBackRest's lock too: a scheduled backup that started since waits it out as well.
    const annotated = await untilUnlocked(
      ctx,
      `${OTHER_BACKUP}: waiting for it to end to record the visit count of snapshot '${name}', ${WAIT_LIMIT}`,
      () =>
        runPgbackrest(ctx.engine, db.id, 'annotate', [
          `--set=${label}`,
          `--annotation=${VISITS_KEY}=${formatVisits(visits)}`,
        ]),
      options.signal,
    )
    if (annotated === 'interrupted' || annotated === 'waiting') {
      // The snapshot is complete: finish it (its restore point below) and say which count it carries.
      ctx.progress(
        `warning: the visit count of snapshot '${name}' was not updated (the wait was stopped): it reads ${before}; the snapshot holds between ${visits.min} and ${visits.max}`,
      )
    } else if (annotated.result.exitCode !== 0) {
      const said = (annotated.result.stderr.trim() || annotated.result.stdout.trim()).split('\n').slice(-3).join(' ')
      throw new StackctlError(
        `snapshot '${name}' (${label}) was taken, but recording its visit count failed: pgbackrest annotate (exit ${annotated.result.exitCode}): ${said}`,
        {
          suggestion: `${stackCommand(ctx.config, 'snapshot list')} shows it; the db log has the server side of it: ${stackCommand(ctx.config, 'logs db')}`,
        },
      )
    }
  }
  // Also a restore point of that name, as db restore --to-name promises: the WAL position right after the backup.
  // Its record names its timeline, so the point can still be reached after a later restore moved to another.
  const [lsn, segment] = (
    await psql.query(
      `SELECT p::text || '|' || pg_walfile_name(p) FROM pg_create_restore_point('${name}') AS p`,
      'postgres',
    )
  ).split('|')
  const unrecorded = await writePointRecord(ctx.engine, db.id, {
    name,
    lsn,
    timeline: Number.parseInt(segment.slice(0, 8), 16),
    at: new Date().toISOString(),
    before: 'snapshot create',
  })
  if (unrecorded) {
    ctx.progress(
      `warning: the record of restore point ${name} was not written (${unrecorded}): after a later restore, db restore --to-name ${name} may not find its timeline; snapshot restore ${name} is not affected`,
    )
  }
  const snapshot = snapshotsOf(await liveInfo(ctx, db)).find((s) => s.label === label)!
  checkInterrupted(
    options.signal,
    `the signal came as the backup finished: snapshot '${name}' (${label}) is complete and kept`,
    `${stackCommand(ctx.config, `snapshot delete ${name}`)} deletes it`,
  )
  return {
    project: ctx.config.project,
    name,
    label,
    type: snapshot.type,
    at: snapshot.at,
    sizeBytes: snapshot.sizeBytes,
    visits,
    seconds: (Date.now() - started) / 1000,
  }
}

/**
 * How long snapshot create waits for another pgBackRest backup in the db (a scheduled one, another snapshot
 * create) to end: pgBackRest runs one backup at a time and refuses a second at once ([050], its lock). Generous,
 * since a scheduled full of a large db takes minutes; Ctrl-C stops the wait with nothing taken.
 */
export const LOCK_WAIT_MS = 30 * 60_000
/** How often the wait asks again (pgBackRest refuses at once while the lock is held; nothing is started). */
const LOCK_POLL_MS = 2000

/** pgBackRest refused its backup lock: another backup (or expire) holds it, and this one did not start. */
export function lockRefused(result: {exitCode: number; stdout: string; stderr: string}): boolean {
  return result.exitCode === 50 && /ERROR: \[050\]/.test(result.stderr + result.stdout)
}

type BackupOutcome = {label: string} | {interrupted: true; waiting: boolean}

/** The line said once when pgBackRest refuses its lock: who holds it, and how long the wait may be. */
const OTHER_BACKUP = `another pgBackRest backup (or expire) is running in the db (a scheduled backup, another snapshot create or delete)`
const WAIT_LIMIT = `at most ${LOCK_WAIT_MS / 60_000} min`

/**
 * Runs a pgBackRest command again every LOCK_POLL_MS while pgBackRest refuses its lock (another backup holds
 * it), saying once that it waits, for at most LOCK_WAIT_MS (then the last refusal is the result). 'interrupted'
 * when `run` was, 'waiting' when the signal came during the wait (nothing was started then).
 */
async function untilUnlocked(
  ctx: StackContext,
  waitingLine: string,
  run: () => Promise<ExecResult | 'interrupted'>,
  signal?: AbortSignal,
): Promise<{result: ExecResult; waitedSeconds?: number} | 'interrupted' | 'waiting'> {
  const deadline = Date.now() + LOCK_WAIT_MS
  let waitingSince: number | undefined
  for (;;) {
    const result = await run()
    if (result === 'interrupted') return result
    if (!lockRefused(result) || Date.now() >= deadline) {
      return waitingSince === undefined
        ? {result}
        : {result, waitedSeconds: Math.round((Date.now() - waitingSince) / 1000)}
    }
    if (waitingSince === undefined) {
      waitingSince = Date.now()
      ctx.progress(waitingLine)
    }
    const waited = await sleep(LOCK_POLL_MS, undefined, {signal}).then(
      () => true,
      () => false,
    )
    if (!waited) return 'waiting'
  }
}

/**
 * A full backup, so that each snapshot stands alone: deleting one never takes another with it (pgBackRest
 * expires a diff or incr with the backup it depends on). --no-expire-auto: a snapshot never expires older
 * backups (the repository's retention would otherwise drop the oldest snapshot, unasked). While another backup
 * holds pgBackRest's lock, it waits (at most LOCK_WAIT_MS, saying so) and then takes its own.
 */
async function backup(
  ctx: StackContext,
  db: ContainerSummary,
  name: string,
  visits: number,
  signal?: AbortSignal,
): Promise<BackupOutcome> {
  ctx.progress(`taking snapshot '${name}': a full pgBackRest backup (${visits} visits)`)
  const outcome = await untilUnlocked(
    ctx,
    `${OTHER_BACKUP}: waiting for it to end, ${WAIT_LIMIT} (Ctrl-C stops the wait; no snapshot is taken then)`,
    () => backupOnce(ctx, db, name, visits, signal),
    signal,
  )
  if (outcome === 'interrupted' || outcome === 'waiting') return {interrupted: true, waiting: outcome === 'waiting'}
  const {result, waitedSeconds} = outcome
  if (waitedSeconds !== undefined && result.exitCode === 0) {
    ctx.progress(`the other backup ended after ${waitedSeconds} s of waiting; snapshot '${name}' was then taken`)
  }
  if (result.exitCode !== 0) {
    // pgBackRest's last words after its retries can hide the cause (a full disk ends as "No such file or
    // directory"): the repository's free space says it plainly.
    const space = await ctx.engine.containers
      .exec(db.id, REPO_SPACE_COMMAND)
      .then((r) => parseRepoSpace(r.stdout))
      .catch(() => undefined)
    const failure = backupFailure({
      exitCode: result.exitCode,
      output: result.stderr.trim() || result.stdout.trim(),
      space,
      volume: backupsVolumeName(ctx.config.project),
      command: (verb) => stackCommand(ctx.config, verb),
      ...(waitedSeconds === undefined ? {} : {waitedSeconds}),
    })
    throw new StackctlError(failure.message, {suggestion: failure.suggestion})
  }
  const taken = snapshotsOf(await liveInfo(ctx, db)).find((s) => s.name === name)
  if (!taken) throw new StackctlError(`pgbackrest backup succeeded but no backup is annotated '${name}'`)
  return {label: taken.label}
}

/** One run of the snapshot's pgBackRest backup: its result, or 'interrupted' once the signal stopped it. */
async function backupOnce(
  ctx: StackContext,
  db: ContainerSummary,
  name: string,
  visits: number,
  signal?: AbortSignal,
): Promise<ExecResult | 'interrupted'> {
  const pidFile = `/tmp/stackctl-snapshot-${randomBytes(6).toString('hex')}.pid`
  const args = [
    'pgbackrest',
    `--stanza=${STANZA}`,
    '--type=full',
    '--no-expire-auto',
    `--annotation=${NAME_KEY}=${name}`,
    `--annotation=${VISITS_KEY}=${visits}`,
    'backup',
  ]
  // docker exec leaves the process running when its client goes: the pid file lets an interrupt stop it. All
  // as postgres: the db container's root lacks CAP_KILL, so root's kill fails on a postgres-owned process
  // (seen: the "stopped" backup went on and finished as a snapshot).
  const script = `echo $$ > ${pidFile}; exec "$@"`
  // Not exec's own signal: a signal before its stream is attached went unheeded (seen: the backup ran to its
  // end, then was reported stopped). The signal stops the process itself; the exec then ends with it.
  const running = ctx.engine.containers.exec(db.id, ['sh', '-c', script, 'sh', ...args], {user: DB_OS_USER})
  const aborted = new Promise<'aborted'>((resolve) => {
    if (signal?.aborted) resolve('aborted')
    signal?.addEventListener('abort', () => resolve('aborted'), {once: true})
  })
  const first = await Promise.race([running, aborted])
  if (first === 'aborted') await stopBackup(ctx, db.id, pidFile)
  const result = await running
  await ctx.engine.containers.exec(db.id, ['rm', '-f', pidFile], {user: DB_OS_USER})
  // A run that pgBackRest refused its lock started nothing: the wait sees the signal and says so.
  return first === 'aborted' && !lockRefused(result) ? 'interrupted' : result
}

/**
 * SIGTERM to the backup, then waits for it to exit. pgBackRest leaves the aborted set as a partial directory
 * outside backup.info: `info` never lists it, and the next backup resumes or removes it.
 */
async function stopBackup(ctx: StackContext, containerId: string, pidFile: string): Promise<void> {
  // A signal as the exec started: its pid file may come a moment later.
  const script = `for i in $(seq 1 20); do [ -e ${pidFile} ] && break; sleep 0.1; done
pid=$(cat ${pidFile} 2>/dev/null) || exit 0; rm -f ${pidFile}
kill -0 "$pid" 2>/dev/null || exit 0
kill -TERM "$pid" || exit 2
for i in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done; exit 1`
  const stopped = await ctx.engine.containers.exec(containerId, ['sh', '-c', script], {user: DB_OS_USER})
  if (stopped.exitCode !== 0) {
    throw new StackctlError(
      stopped.exitCode === 2
        ? `the backup could not be signalled: ${stopped.stderr.trim()}`
        : 'the backup did not stop within 30 s of SIGTERM',
    )
  }
}

export interface SnapshotListResult {
  project: string
  snapshots: Snapshot[]
  /** What point-in-time restore (db restore) can reach; null without a backup and archived WAL. */
  recoverable: {from: string; fromLsn: string; lastSegment: string; text: string} | null
}

/** Read from the repository in a throw-away container: it works with the db stopped or lost. */
export async function listSnapshots(ctx: StackContext): Promise<SnapshotListResult> {
  const info = await readRepository(ctx)
  const range = recoverableRange(currentCluster(info))
  return {
    project: ctx.config.project,
    snapshots: snapshotsOf(info),
    recoverable: range
      ? {
          from: range.from.toISOString(),
          fromLsn: range.fromLsn,
          lastSegment: range.lastSegment,
          text: describeRange(range),
        }
      : null,
  }
}

async function readRepository(ctx: StackContext): Promise<RepoInfo> {
  await ctx.engine.ping()
  const repo = backupsVolumeName(ctx.config.project)
  if (!(await ctx.engine.volumes.inspect(repo))) {
    throw new UsageError(
      `stack '${ctx.config.project}' has no WAL archive (no volume ${repo}), so no snapshots`,
      `${stackCommand(ctx.config, 'up --wal-archive --image-source local')} turns archiving on`,
    )
  }
  return parseRepoInfo(await repoInfo(ctx.engine, `stackctl/postgres:${ctx.config.pgMajor}`, repo))
}

export interface SnapshotRestoreResult extends DbRestoreResult {
  snapshot: {name: string; label: string; visits: VisitRange | null}
}

export async function restoreSnapshot(
  ctx: StackContext,
  resolver: ImageResolver,
  options: {
    name?: string
    latest?: boolean
    force?: boolean
    confirm?: Confirm
    signal?: AbortSignal
    steps?: StepRunner
    /** The new volume's driver options (--volume-opt), as db restore takes them. */
    volumeOptions?: Record<string, string>
  },
): Promise<SnapshotRestoreResult> {
  const command = (verb: string) => stackCommand(ctx.config, verb)
  const snapshot = pickSnapshot(snapshotsOf(await readRepository(ctx)), options, command)
  if (snapshot.pgMajor !== null && snapshot.pgMajor !== ctx.config.pgMajor) {
    throw new StackctlError(
      `snapshot '${snapshot.name}' is of PostgreSQL ${snapshot.pgMajor}, taken before the stack's db upgrade; the stack runs PostgreSQL ${ctx.config.pgMajor}, whose server cannot restore it`,
      {suggestion: otherMajorHint(ctx, snapshot.pgMajor)},
    )
  }
  if (!snapshot.restorable) {
    throw new StackctlError(`snapshot '${snapshot.name}' cannot be restored: its WAL is no longer in the archive`, {
      suggestion: `${command('snapshot list')} shows which can; nothing was changed`,
    })
  }
  if (!options.force) {
    const question =
      `This restores snapshot '${snapshot.name}' (taken ${snapshot.at}, ${snapshot.visits ? formatVisits(snapshot.visits) : 'an unknown number of'} visits) ` +
      `into a new volume and switches the stack to it; volume ${ctx.config.volume} is kept.`
    await confirmOrRefuse(
      options.confirm,
      question,
      snapshot.name,
      `restore snapshot '${snapshot.name}'`,
      'nothing was changed',
    )
  }
  const result = await restoreToPoint(ctx, resolver, {
    target: snapshotTarget(snapshot),
    signal: options.signal,
    steps: options.steps,
    command: 'snapshot restore',
    ...(options.volumeOptions ? {volumeOptions: options.volumeOptions} : {}),
  })
  return {...result, snapshot: {name: snapshot.name, label: snapshot.label, visits: snapshot.visits}}
}

async function confirmOrRefuse(
  confirm: Confirm | undefined,
  question: string,
  expected: string,
  what: string,
  unchanged: string,
): Promise<void> {
  if (!confirm) {
    throw new StackctlError(`refusing to ${what} without confirmation (no terminal to ask on)`, {
      exitCode: 2,
      suggestion: 'pass --force to do it without asking',
    })
  }
  if (!(await confirm(question, expected))) throw new StackctlError(`not confirmed: ${unchanged}`)
}

export interface SnapshotDeleteResult {
  project: string
  name: string
  label: string
  /** The point-in-time range after the delete: the archived WAL is kept, so only a range's start can move. */
  recoverable: string | null
}

export async function deleteSnapshot(
  ctx: StackContext,
  options: {name: string; force?: boolean; confirm?: Confirm; signal?: AbortSignal},
): Promise<SnapshotDeleteResult> {
  await ctx.engine.ping()
  await claimStack(ctx, {adopt: ctx.adopt})
  const db = await archivingDb(ctx)
  const info = await liveInfo(ctx, db)
  const snapshot = pickSnapshot(snapshotsOf(info), {name: options.name}, (verb) => stackCommand(ctx.config, verb))
  const refusal = deleteRefusal(snapshot, info)
  if (refusal) {
    throw new StackctlError(`refused: ${refusal}`, {
      suggestion: `take another snapshot first (${stackCommand(ctx.config, 'snapshot create')}); nothing was changed`,
    })
  }
  if (!options.force) {
    await confirmOrRefuse(
      options.confirm,
      `This deletes snapshot '${snapshot.name}' (backup ${snapshot.label}, taken ${snapshot.at}) from the WAL archive. It cannot be undone; no volume and no archived WAL is touched.`,
      snapshot.name,
      `delete snapshot '${snapshot.name}'`,
      `snapshot '${snapshot.name}' was kept`,
    )
  }
  checkInterrupted(options.signal, `nothing was changed: snapshot '${snapshot.name}' is kept`)
  // Retention at its maximum for this one run: expire removes the set asked for and no other backup, and keeps
  // every archived WAL segment (the point-in-time range stays as it was, as pgBackRest's manual advises).
  const expired = await runPgbackrest(ctx.engine, db.id, 'expire', [
    `--set=${snapshot.label}`,
    '--repo1-retention-full=9999999',
    '--repo1-retention-archive=9999999',
  ])
  const after = parseRepoInfo(await mustPgbackrest(ctx.engine, db.id, 'info', ['--output=json']))
  if (after.backups.some((b) => b.label === snapshot.label)) {
    const said = (expired.stderr.trim() || expired.stdout.trim()).split('\n').slice(-2).join(' ')
    throw new StackctlError(`pgBackRest did not delete snapshot '${snapshot.name}' (exit ${expired.exitCode}): ${said}`)
  }
  const range = recoverableRange(currentCluster(after))
  if (options.signal?.aborted) {
    throw new Interrupted(
      `the signal came during the delete, which was finished: snapshot '${snapshot.name}' is deleted`,
    )
  }
  return {
    project: ctx.config.project,
    name: snapshot.name,
    label: snapshot.label,
    recoverable: range ? describeRange(range) : null,
  }
}

/** A failed snapshot backup's message and hint; a full repository is named as such. Pure. */
export function backupFailure(input: {
  exitCode: number
  output: string
  space: RepoSpace | undefined
  volume: string
  command: (verb: string) => string
  /** How long snapshot create waited for another backup to release pgBackRest's lock, when it did. */
  waitedSeconds?: number
}): {message: string; suggestion: string} {
  // pgBackRest's ERROR line is the cause; the HINT lines after it are generic.
  const lines = input.output
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
  const said = (lines.filter((l) => /ERROR: \[\d+\]/.test(l)).at(-1) ?? lines.slice(-3).join(' ')).replaceAll(
    /\s+/g,
    ' ',
  )
  // A full backup needs room for the data and at least the WAL segment it ends with.
  if (repositoryFull({lastError: said, ...(input.space ? {space: input.space} : {})}, WAL_SEGMENT_BYTES)) {
    const free = input.space
      ? `${formatBytes(input.space.freeBytes)} free of ${formatBytes(input.space.sizeBytes)}`
      : 'no space left'
    return {
      message: `pgbackrest backup failed: the backup repository is full (volume ${input.volume}: ${free}); pgBackRest said (exit ${input.exitCode}): ${said}`,
      suggestion: `no snapshot was taken; make room on the filesystem that holds volume ${input.volume} (${input.command('snapshot list')} shows what each snapshot takes; WAL archiving needs room there too: ${input.command('doctor')} checks it)`,
    }
  }
  // [050]: pgBackRest's lock is held by another backup in the db (a scheduled one, or another snapshot create).
  if (/ERROR: \[050\]/.test(said)) {
    const waited =
      input.waitedSeconds === undefined
        ? ''
        : ` and was still running after ${formatWait(input.waitedSeconds)} of waiting`
    return {
      message: `pgbackrest backup failed: another pgBackRest backup is running in the db (a scheduled backup, or another snapshot create)${waited}; pgBackRest said (exit ${input.exitCode}): ${said}`,
      suggestion: `no snapshot was taken; run the same snapshot create again once that backup is done (${input.command('doctor')} shows the last scheduled one)`,
    }
  }
  return {
    message: `pgbackrest backup failed (exit ${input.exitCode}): ${said}`,
    suggestion: `no snapshot was taken; the db log has the server side of it: ${input.command('logs db')}`,
  }
}

/** PostgreSQL's default WAL segment: the least a repository must still take. */
const WAL_SEGMENT_BYTES = 16 * 1024 * 1024

function formatWait(seconds: number): string {
  return seconds < 120 ? `${seconds} s` : `${Math.round(seconds / 60)} min`
}
