/**
 * `stackctl volume restore`: replaces the `visits` database with a backup, never leaving it half-restored.
 * The file is checked first, the room for it too (room.ts: refused with the numbers when short, and watched
 * while pg_restore writes, so the live server always keeps room for its WAL); it is restored into a fresh
 * database, verified to be a visit-tracker database holding what its record says (see restore-check.ts), and
 * only then swapped in by two renames in one transaction. On any failure or interrupt before the swap,
 * pg_restore is stopped, the fresh database dropped and `visits` is untouched; the swap runs as one script in
 * the db container, which neither Ctrl-C nor a killed stackctl interrupts, so the result is the old data or
 * the new. What a restore killed before the swap leaves is found by restore-leftovers.ts.
 */
import {createHash, randomBytes} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {stat} from 'node:fs/promises'
import path from 'node:path'
import {pipeline} from 'node:stream/promises'

import {DB_NAME, DB_USER} from '../../model/config/stack-config.js'
import type {Engine} from '../../engine/engine.js'
import {Interrupted, lastLines, StackctlError, UsageError} from '../../errors.js'
import {readOptional} from '../../model/stackdir/files.js'
import type {StackContext} from '../../stack/context.js'
import {claimStack} from '../../stack/ownership.js'
import {ByteMeter} from './backup.js'
import {drainingStdin, runMarker, stopMarked, streamFailure} from './container-io.js'
import {Psql, runningDb, serverVersion} from './database.js'
import {
  formatBytes,
  isStepDatabaseName,
  parseDumpedFromVersion,
  sidecarPath,
  stepDatabaseName,
  SWAP_APPLICATION,
} from './format.js'
import {type BackupRecord, readBackupRecord} from './record.js'
import {checkRestored, type RestoredCheck} from './restore-check.js'
import {assertRoom, freeBytes, type Room, watchFreeSpace} from './room.js'
import {SCHEMA_VERSION} from './schema.js'
import {plural} from '../../cli/ui/plural.js'
import {makeRestorePoint, type RestorePoint} from '../protect/restore-point.js'
import {phaseRunner, type StepRunner} from '../../plan/runner.js'

export interface RestoreOptions {
  file: string
  /** Skip the confirmation and accept a backup from another PostgreSQL major (never a foreign database). */
  force?: boolean
  /** Asks the user to type `expected`; absent when there is no terminal to ask on. */
  confirm?: (question: string, expected: string) => Promise<boolean>
  now?: Date
  /** Ctrl-C: before the swap, undo everything and end with Interrupted; during it, finish it first. */
  signal?: AbortSignal
  /** The command's step runner (its display); without one, the steps are reported as ctx's phases. */
  steps?: StepRunner
}

export interface BackupDetails {
  project: string | null
  /** The visit-tracker schema version the backup's record names. */
  trackerSchemaVersion: number | null
  pgMajor: number | null
  visits: number | null
  createdAt: string | null
  /** Where the backup's details came from: its sidecar record or the dump's own header. */
  source: 'record' | 'header'
}

export interface RestoreResult {
  file: string
  project: string
  volume: string
  database: string
  backup: BackupDetails
  serverPgMajor: number
  visitsBefore: number | null
  visits: number
  /** Whether visit_counter had to be rebuilt from count(*) in the restored copy, and why. */
  counter: RestoredCheck['counter']
  /** Everything changed in the restored copy before the swap, in words. */
  repairs: string[]
  /** Temporary databases of restores that were killed, dropped before this one. */
  staleDropped: string[]
  /** The replaced database, renamed aside during the swap and dropped after it. */
  previous: {name: string; dropped: boolean}
  /** The named point made before the data was replaced (an archiving stack), to come back to; else null. */
  restorePoint: RestorePoint | null
  seconds: number
}

const UNCHANGED = 'the current data was not changed'

export async function restoreVolume(ctx: StackContext, options: RestoreOptions): Promise<RestoreResult> {
  const started = Date.now()
  const steps = options.steps ?? phaseRunner(ctx)
  const read = await steps.step('read the backup', async () => {
    await fileSize(path.resolve(options.file)) // a missing file is refused before anything else is asked
    await ctx.engine.ping()
    await claimStack(ctx, {adopt: ctx.adopt}) // never another stack's data, unless adopted
    const db = await runningDb(ctx, 'restore')
    return readBackup(ctx, db.id, options)
  })
  // A step only on an archiving stack: elsewhere there is no point to make, and nothing is said.
  const restorePoint = ctx.config.walArchive
    ? await steps.step('restore point', () => makeRestorePoint(ctx, 'volume restore', options.signal))
    : null
  return restoreRead(ctx, read, steps, options, started, restorePoint)
}

/**
 * The restore itself, into the running db container `dbId` on ctx.engine (the caller found it and vouched for
 * it: the Compose stack's own db, or a swarm stack's db task on its node).
 */
export async function restoreIntoContainer(
  ctx: StackContext,
  dbId: string,
  options: RestoreOptions,
  started = Date.now(),
): Promise<RestoreResult> {
  const steps = options.steps ?? phaseRunner(ctx)
  // The one other caller is a swarm stack's db, which has no WAL archive (no pgBackRest there): no point.
  return restoreRead(ctx, await readBackup(ctx, dbId, options), steps, options, started, null)
}

/** What reading and checking the backup found, and what the restore of it needs. */
interface ReadBackup {
  file: string
  size: number
  db: {id: string}
  psql: Psql
  marker: string
  record: BackupRecord | undefined
  backup: BackupDetails
  serverPgMajor: number
  visitsBefore: number | null
  room: Room
  staleDropped: string[]
  dropForce: string
}

/**
 * The backup read and checked against its record, the server and the room, and confirmed; the live data is not
 * changed (the temporary databases of killed restores are dropped).
 */
async function readBackup(ctx: StackContext, dbId: string, options: RestoreOptions): Promise<ReadBackup> {
  const {signal} = options
  const file = path.resolve(options.file)
  const size = await fileSize(file)
  const db = {id: dbId}
  const psql = new Psql(ctx.engine, db.id)
  const volume = ctx.config.volume
  const marker = runMarker()

  const record = await readRecord(file)
  let listing: string
  try {
    if (record) await assertMatchesRecord(file, size, record, signal)
    listing = await listArchive(ctx, db.id, file, marker, signal)
  } catch (error) {
    if (!signal?.aborted) throw streamFailure(error, `reading ${file}`, 'nothing was changed')
    await stopMarked(ctx.engine, db.id, marker, ['pg_restore'])
    throw new Interrupted(`restore stopped while checking ${file}; nothing was changed`)
  }
  const backup: BackupDetails = {
    project: record?.project ?? null,
    trackerSchemaVersion: record?.schemaVersion ?? null,
    pgMajor: record?.pgMajor ?? parseDumpedFromVersion(listing) ?? null,
    visits: record?.visits ?? null,
    createdAt: record?.createdAt ?? null,
    source: record ? 'record' : 'header',
  }
  ctx.progress(`restore: ${describeBackup(backup, file)}`)
  const serverPgMajor = await assertRestorable(psql, file, backup, options.force)

  const visitsBefore = await countLive(psql)
  const room = await assertRoom(ctx, psql, {volume, visitsBefore, rows: backup.visits, dumpBytes: size})
  if (!options.force) await confirmReplace(options, volume, file, visitsBefore, backup)
  if (signal?.aborted) throw new Interrupted('nothing was changed')
  const dropForce = ' WITH (FORCE)' // PostgreSQL 13+; the image is 17
  const staleDropped = await dropStaleDatabases(psql, dropForce)
  await allowConnections(psql, DB_NAME) // a restore killed in the middle of its swap left it closed
  for (const name of staleDropped) ctx.progress(`restore: dropped database ${name}, left by a restore that was killed`)
  return {
    file,
    size,
    db,
    psql,
    marker,
    record,
    backup,
    serverPgMajor,
    visitsBefore,
    room,
    staleDropped,
    dropForce,
  }
}

/** Into a fresh database, checked, swapped in; a failure or interrupt before the swap undoes the fresh one. */
async function restoreRead(
  ctx: StackContext,
  read: ReadBackup,
  steps: StepRunner,
  options: RestoreOptions,
  started: number,
  restorePoint: RestorePoint | null,
): Promise<RestoreResult> {
  const {signal} = options
  const {file, size, db, psql, marker, record, backup, serverPgMajor, visitsBefore, room, staleDropped, dropForce} =
    read
  const volume = ctx.config.volume
  const now = options.now ?? new Date()
  const suffix = randomBytes(2).toString('hex')
  const fresh = stepDatabaseName(DB_NAME, 'restore', now, suffix)
  const previous = stepDatabaseName(DB_NAME, 'old', now, suffix)
  const undo = new UndoRestore(ctx, psql, {containerId: db.id, marker, fresh, dropForce, volume, file})
  let checked: RestoredCheck
  let created = false
  try {
    await steps.step('restore into a temporary database (pg_restore)', async () => {
      await psql.query(`CREATE DATABASE ${fresh}`, 'postgres')
      created = true
      steps.onUndo(`the temporary database ${fresh} dropped, with any pg_restore into it stopped`, () => undo.run())
      ctx.progress(`restore: streaming ${path.basename(file)} (${formatBytes(size)}) into temporary database ${fresh}`)
      await restoreInto(ctx, {containerId: db.id, file, database: fresh, marker, room}, signal)
    })
    checked = await steps.step('check the restored data', async () => {
      const checked = await checkRestored(psql, fresh, file, record, ctx.progress)
      for (const repair of checked.repairs) ctx.progress(`restore: ${repair}`)
      if (signal?.aborted) throw signal.reason
      return checked
    })
  } catch (error) {
    if (!created) throw error // nothing was made to undo
    await steps.undo()
    throw await undo.error(error, signal)
  }
  // From here the fresh database is the one to swap in: no undo drops it.
  steps.forget(`the temporary database ${fresh} dropped, with any pg_restore into it stopped`)

  // The swap is one transaction, run by one script in the db container that nothing on this side interrupts.
  const {dropped} = await steps.step(
    'swap it in',
    async () => {
      ctx.progress(`restore: swapping ${fresh} in as '${DB_NAME}' (one transaction)`)
      return swapIn(ctx.engine, psql, fresh, previous, dropForce)
    },
    {shielded: true},
  )
  if (!dropped) ctx.progress(`restore: the replaced data is kept as database ${previous}; drop it when done`)
  if (signal?.aborted) {
    throw new Interrupted(
      `the restore was already swapping databases and finished that: database '${DB_NAME}' in volume ${volume} now ` +
        `holds the backup (${plural(checked.visits, 'visit')})${dropped ? '' : `; the replaced data is kept as database ${previous}`}`,
    )
  }
  return {
    file,
    project: ctx.config.project,
    volume,
    database: DB_NAME,
    backup,
    serverPgMajor,
    visitsBefore,
    visits: checked.visits,
    counter: checked.counter,
    repairs: checked.repairs,
    staleDropped,
    previous: {name: previous, dropped},
    restorePoint,
    seconds: (Date.now() - started) / 1000,
  }
}

function describeBackup(backup: BackupDetails, file: string): string {
  const parts = [
    backup.project === null ? 'project unknown' : `project '${backup.project}'`,
    backup.trackerSchemaVersion === null ? 'schema version unknown' : `schema version ${backup.trackerSchemaVersion}`,
    `${backup.visits ?? 'an unknown number of'} visits`,
    `PostgreSQL ${backup.pgMajor ?? 'unknown'}`,
    `created ${backup.createdAt ?? 'at an unknown time'}`,
  ]
  const source =
    backup.source === 'record' ? `its record ${sidecarPath(file)}` : "the dump's header; there is no record"
  return `backup ${path.basename(file)}: ${parts.join(', ')} (from ${source})`
}

async function assertRestorable(
  psql: Psql,
  file: string,
  backup: BackupDetails,
  force: boolean | undefined,
): Promise<number> {
  if (backup.trackerSchemaVersion !== null && backup.trackerSchemaVersion > SCHEMA_VERSION) {
    throw new StackctlError(
      `${file} holds schema version ${backup.trackerSchemaVersion}; this stackctl knows version ${SCHEMA_VERSION}`,
      {suggestion: `restore it with the stackctl that made it; ${UNCHANGED}`},
    )
  }
  const server = await serverVersion(psql, DB_NAME)
  if (backup.pgMajor !== server.major && !force) {
    throw new StackctlError(
      `${file} is a backup of PostgreSQL ${backup.pgMajor ?? '(unknown version)'}; the stack runs PostgreSQL ${server.major}`,
      {
        exitCode: 2,
        suggestion:
          'restoring across major versions may fail; pass --force to try anyway (a failed restore changes nothing)',
      },
    )
  }
  return server.major
}

async function fileSize(file: string): Promise<number> {
  try {
    const info = await stat(file)
    if (info.isFile()) return info.size
  } catch {
    // reported below
  }
  throw new UsageError(`backup file ${file} not found`, 'pass the path of a .dump written by stackctl volume backup')
}

async function readRecord(file: string): Promise<BackupRecord | undefined> {
  const text = await readOptional(sidecarPath(file))
  if (text === undefined) return undefined
  const reading = readBackupRecord(text)
  if ('record' in reading) return reading.record
  throw new StackctlError(`${sidecarPath(file)} is not a usable backup record: ${reading.problem}`, {
    suggestion: `move it aside to restore from the dump alone (its header still names the PostgreSQL version); nothing was changed`,
  })
}

async function assertMatchesRecord(
  file: string,
  size: number,
  record: BackupRecord,
  signal: AbortSignal | undefined,
): Promise<void> {
  const hash = createHash('sha256')
  await pipeline(createReadStream(file), hash, {signal})
  const digest = hash.digest('hex')
  if (size === record.bytes && digest === record.sha256) return
  const detail =
    size === record.bytes ? 'its checksum differs' : `it has ${size} bytes, the record says ${record.bytes}`
  throw new StackctlError(
    `${file} does not match its record ${sidecarPath(file)} (${detail}): it is truncated or was modified`,
    {suggestion: 'restore an intact backup; nothing was changed'},
  )
}

/** `pg_restore --list` reads the archive's header and table of contents: a quick check of the file. */
async function listArchive(
  ctx: StackContext,
  containerId: string,
  file: string,
  marker: string,
  signal: AbortSignal | undefined,
): Promise<string> {
  const result = await ctx.engine.containers.exec(containerId, drainingStdin(['pg_restore', '--list']), {
    stdin: createReadStream(file),
    env: [marker],
    signal,
  })
  if (result.exitCode !== 0) {
    throw new StackctlError(
      `${file} is not a readable pg_dump archive (truncated or corrupted): ${lastLines(result.stderr.trim(), 3)}`,
      {suggestion: 'restore an intact backup; nothing was changed'},
    )
  }
  return result.stdout
}

async function countLive(psql: Psql): Promise<number | null> {
  const answer = await psql.tryQuery('SELECT count(*) FROM visits')
  return answer === undefined || !/^\d+$/.test(answer) ? null : Number(answer)
}

async function confirmReplace(
  options: RestoreOptions,
  volume: string,
  file: string,
  now: number | null,
  backup: BackupDetails,
): Promise<void> {
  const question =
    `This replaces database '${DB_NAME}' in volume ${volume} (${now ?? 'an unknown number of'} visits now) ` +
    `with ${path.basename(file)} (${backup.visits ?? 'an unknown number of'} visits, project ` +
    `${backup.project ?? 'unknown'}, created ${backup.createdAt ?? 'at an unknown time'}).`
  if (!options.confirm) {
    throw new StackctlError(`refusing to replace the data in volume ${volume} without confirmation (no terminal)`, {
      exitCode: 2,
      suggestion: `pass --force to replace its ${now ?? 'unknown number of'} visits with the backup`,
    })
  }
  if (!(await options.confirm(question, volume))) {
    throw new StackctlError(`not confirmed: volume ${volume} was not changed`)
  }
}

/** Databases named like a restore's temporary steps: only a restore that was killed leaves them. */
async function dropStaleDatabases(psql: Psql, dropForce: string): Promise<string[]> {
  const names = (await psql.query('SELECT datname FROM pg_database', 'postgres')).split('\n').map((n) => n.trim())
  const stale = names.filter((name) => isStepDatabaseName(DB_NAME, name))
  for (const name of stale) await psql.query(`DROP DATABASE IF EXISTS ${name}${dropForce}`, 'postgres')
  return stale
}

interface RestoreTarget {
  containerId: string
  file: string
  database: string
  marker: string
  room: Room
}

/**
 * pg_restore into `database`, with free space watched: should it fall under the reserve, pg_restore is
 * stopped there, so the live server always has room for its WAL. A failure names its cause (no space, or the
 * file) but not whether the live data was touched: undoRestore checks that and says it.
 */
async function restoreInto(ctx: StackContext, target: RestoreTarget, signal: AbortSignal | undefined): Promise<void> {
  const {containerId, file, database, marker, room} = target
  const meter = new ByteMeter((bytes) => ctx.progress(`restore: ${formatBytes(bytes)} read`))
  const input = createReadStream(file)
  input.once('error', (error) => meter.destroy(error))
  const readFree = () => freeBytes(ctx.engine, containerId, room.dataDirectory)
  const watch = watchFreeSpace(readFree, room.reserveBytes, async (free) => {
    ctx.progress(`restore: only ${formatBytes(free)} free in the volume, under the reserve: stopping pg_restore`)
    await stopMarked(ctx.engine, containerId, marker, ['pg_restore'])
  })
  try {
    const result = await ctx.engine.containers.exec(
      containerId,
      drainingStdin(['pg_restore', '--no-owner', '--exit-on-error', '-U', DB_USER, '-d', database]),
      {stdin: input.pipe(meter), env: [marker], signal},
    )
    await watch.stop()
    // Under the reserve the restore stops, even when pg_restore got to its end between two readings.
    const final = watch.low() === undefined ? await readFree().catch(() => undefined) : undefined
    const low = watch.low() ?? (final !== undefined && final < room.reserveBytes ? final : undefined)
    if (result.exitCode !== 0 || low !== undefined) throw restoreFailure(file, result.stderr, low, room)
  } finally {
    await watch.stop()
    input.destroy()
  }
  ctx.progress(`restore: ${formatBytes(meter.bytes)} read, done`)
}

/** Why pg_restore failed, from what the watch saw and what pg_restore said. */
export function restoreFailure(
  file: string,
  stderr: string,
  lowFree: number | undefined,
  room: Pick<Room, 'reserveBytes' | 'freeBytes'>,
): StackctlError {
  const said = lastLines(stderr.trim(), 5)
  const hint = 'make room on the filesystem that holds the volume, then try again'
  if (lowFree !== undefined) {
    return new StackctlError(
      `the volume ran out of space during the restore: ${formatBytes(lowFree)} free, under the reserve of ` +
        `${formatBytes(room.reserveBytes)} kept for the live database (${formatBytes(room.freeBytes)} was free before), ` +
        `so the restore was stopped; the backup needs more room than estimated`,
      {suggestion: hint},
    )
  }
  if (/No space left on device|could not extend file|disk full/i.test(stderr)) {
    return new StackctlError(`the volume ran out of space during the restore: ${said}`, {suggestion: hint})
  }
  return new StackctlError(`${file} could not be restored: ${said}`, {
    suggestion: 'it is truncated, corrupted or not from stackctl volume backup',
  })
}

interface RestoreStep {
  containerId: string
  marker: string
  fresh: string
  dropForce: string
  volume: string
  file: string
}

/**
 * The undo of a restore before its swap: stops pg_restore and drops the fresh database (run by the step runner,
 * once); the error to throw then says what was undone.
 */
class UndoRestore {
  private stopped: number | Error | undefined
  private dropped = false

  constructor(
    private readonly ctx: StackContext,
    private readonly psql: Psql,
    private readonly step: RestoreStep,
  ) {}

  async run(): Promise<void> {
    const {ctx, psql, step} = this
    this.stopped = await stopMarked(ctx.engine, step.containerId, step.marker, ['pg_restore']).catch(
      (stopError: Error) => stopError,
    )
    this.dropped = await psql
      .query(`DROP DATABASE IF EXISTS ${step.fresh}${step.dropForce}`, 'postgres')
      .then(() => true)
      .catch(() => false)
    if (this.stopped instanceof Error) throw this.stopped
    if (!this.dropped) throw new StackctlError(`the temporary database ${step.fresh} could not be dropped`)
  }

  async error(error: unknown, signal: AbortSignal | undefined): Promise<Error> {
    const {psql, step, stopped, dropped} = this
    const leftover = dropped ? '' : `; drop the temporary database ${step.fresh} by hand`
    if (stopped instanceof Error) return stopped
    if (signal?.aborted) {
      const undone = [
        `pg_restore in the db container ${(stopped ?? 0) > 0 ? 'was stopped' : 'had already ended'}`,
        dropped ? `the temporary database ${step.fresh} was dropped` : `the temporary database ${step.fresh} is left`,
      ]
      return new Interrupted(
        `restore stopped: ${undone.join(' and ')}; volume ${step.volume} still holds the data it had`,
        dropped ? undefined : `drop it with DROP DATABASE ${step.fresh}, or run the restore again, which drops it`,
      )
    }
    const failure = streamFailure(error, `restoring ${step.file}`, UNCHANGED)
    const hint = (await liveAnswers(psql))
      ? withUnchanged(failure.suggestion)
      : `${withoutUnchanged(failure.suggestion)}; the database server does not answer since: see stackctl status and stackctl logs db`
    return new StackctlError(`${failure.message}${leftover}`, {exitCode: failure.exitCode, suggestion: hint})
  }
}

/** Whether the live `visits` still answers a query: only then is "the current data was not changed" said. */
async function liveAnswers(psql: Psql): Promise<boolean> {
  return (await psql.tryQuery('SELECT 1 FROM visits LIMIT 1')) !== undefined
}

function withoutUnchanged(suggestion: string | undefined): string {
  return (suggestion ?? '').replace(`; ${UNCHANGED}`, '').replace(UNCHANGED, '')
}

function withUnchanged(suggestion: string | undefined): string {
  const rest = withoutUnchanged(suggestion)
  return rest ? `${rest}; ${UNCHANGED}` : UNCHANGED
}

/**
 * The swap, as one exec in the db container (swapArgs): it runs to its end even when stackctl is killed
 * meanwhile, since the engine does not stop an exec whose client went away. Should the exec's answer be lost,
 * the server is asked which database is live now; a swap that did not happen leaves nothing behind.
 */
async function swapIn(
  engine: Engine,
  psql: Psql,
  fresh: string,
  previous: string,
  dropForce: string,
): Promise<{dropped: boolean}> {
  const result = await engine.containers
    .exec(psql.containerId, swapArgs(fresh, previous, dropForce))
    .catch((error: Error) => ({exitCode: -1, stdout: '', stderr: error.message}))
  const outcome = /^swap=(\d+) dropped=(yes|no)$/m.exec(result.stdout)
  if (outcome?.[1] === '0') return {dropped: outcome[2] === 'yes'}
  const names = await psql.query('SELECT datname FROM pg_database', 'postgres').catch(() => '')
  const live = names.split('\n').map((n) => n.trim())
  if (live.includes(previous) && live.includes(DB_NAME) && !live.includes(fresh)) {
    // It did commit; only the answer was lost.
    const dropped = await psql
      .query(`DROP DATABASE IF EXISTS ${previous}${dropForce}`, 'postgres')
      .then(() => true)
      .catch(() => false)
    if (!dropped) await allowConnections(psql, previous)
    return {dropped}
  }
  await allowConnections(psql, DB_NAME)
  await psql.query(`DROP DATABASE IF EXISTS ${fresh}${dropForce}`, 'postgres').catch(() => {})
  const said = lastLines((result.stdout.replace(/^swap=.*$/m, '') + result.stderr).trim(), 3)
  throw new StackctlError(
    `swapping the restored database in failed, so database '${DB_NAME}' still holds the previous data: ${said}`,
    {suggestion: 'stop what holds connections to it (stackctl status shows the stack) and try again'},
  )
}

/** Lets sessions into a database again (after a swap that did not happen, or for replaced data kept). */
async function allowConnections(psql: Psql, database: string): Promise<void> {
  await psql.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`, 'postgres').catch(() => {})
}

/**
 * Close `visits` to new sessions, swap (swapSql), open it again, drop the replaced database: one shell script,
 * so no kill of stackctl can stop it between closing and opening. Renaming needs `visits` free of sessions, and
 * the API (its pool, its health check) reconnects at once; on a busy machine every rename failed that way, so
 * new sessions are refused while it runs (the API answers 503 for those milliseconds). Opening runs whatever
 * the swap did: after a swap the name belongs to the restored copy, already open. psql's output is captured,
 * and SIGPIPE ignored, so a client that went away cannot end the script by its writes. The SQL arrives as
 * arguments, never spliced into the script.
 */
export function swapArgs(fresh: string, previous: string, dropForce: string): string[] {
  const script = `trap '' PIPE HUP
export PGAPPNAME=${SWAP_APPLICATION}
said=""
run() { out=$(psql -X -q -t -A -v ON_ERROR_STOP=1 -U ${DB_USER} -d postgres -c "$1" 2>&1) || { said="$said$out
"; return 1; }; }
run "$1" && run "$2"; swap=$?
run "$3"
dropped=no
if [ "$swap" -eq 0 ]; then if run "$4"; then dropped=yes; else run "$5"; fi; fi
printf 'swap=%s dropped=%s\n%s' "$swap" "$dropped" "$said"
exit "$swap"`
  return [
    'sh',
    '-c',
    script,
    'sh',
    `ALTER DATABASE ${DB_NAME} ALLOW_CONNECTIONS false`,
    swapSql(fresh, previous),
    `ALTER DATABASE ${DB_NAME} ALLOW_CONNECTIONS true`,
    `DROP DATABASE IF EXISTS ${previous}${dropForce}`,
    `ALTER DATABASE ${previous} ALLOW_CONNECTIONS true`,
  ]
}

/**
 * Both renames commit together or not at all. The API's sessions are ended and, should one be left as the
 * rename starts, ended again; new connections are refused meanwhile (swapArgs closed the database).
 */
function swapSql(fresh: string, previous: string): string {
  return `DO $swap$
DECLARE attempt int := 0;
BEGIN
  LOOP
    PERFORM pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${DB_NAME}' AND pid <> pg_backend_pid();
    BEGIN
      ALTER DATABASE ${DB_NAME} RENAME TO ${previous};
      EXIT;
    EXCEPTION WHEN object_in_use THEN
      attempt := attempt + 1;
      IF attempt >= 20 THEN RAISE; END IF;
      PERFORM pg_sleep(0.2);
    END;
  END LOOP;
  ALTER DATABASE ${fresh} RENAME TO ${DB_NAME};
END
$swap$`
}
