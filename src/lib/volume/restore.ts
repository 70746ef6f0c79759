/**
 * `stackctl volume restore`: replaces the `visits` database with a backup, never leaving it half-restored.
 * The file is checked first, restored into a fresh database, verified, and only then swapped in by two
 * renames in one transaction; on any failure the fresh database is dropped and `visits` is untouched.
 */
import {createHash, randomBytes} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {stat} from 'node:fs/promises'
import path from 'node:path'
import {pipeline} from 'node:stream/promises'

import {DB_NAME, DB_USER, volumeName} from '../config/stack-config.js'
import {readOptional} from '../stackdir/stack-files.js'
import {lastLines, StackctlError, UsageError} from '../errors.js'
import type {StackContext} from '../stack/context.js'
import {countVisits} from '../db/visits.js'
import {ByteMeter} from './backup.js'
import {Psql, runningDb, serverVersion} from './database.js'
import {
  type BackupRecord,
  formatBytes,
  parseBackupRecord,
  parseDumpedFromVersion,
  sidecarPath,
  stepDatabaseName,
} from './format.js'

export interface RestoreOptions {
  file: string
  /** Skip the confirmation and accept a backup from another PostgreSQL major. */
  force?: boolean
  /** Asks the user to type `expected`; absent when there is no terminal to ask on. */
  confirm?: (question: string, expected: string) => Promise<boolean>
  now?: Date
}

export interface RestoreResult {
  file: string
  project: string
  volume: string
  database: string
  backup: {
    pgMajor: number | null
    visits: number | null
    createdAt: string | null
    /** Where the backup's details came from: its sidecar record or the dump's own header. */
    source: 'record' | 'header'
  }
  serverPgMajor: number
  visitsBefore: number | null
  visits: number
  /** The replaced database, renamed aside during the swap and dropped after it. */
  previous: {name: string; dropped: boolean}
  seconds: number
}

export async function restoreVolume(ctx: StackContext, options: RestoreOptions): Promise<RestoreResult> {
  const started = Date.now()
  const file = path.resolve(options.file)
  const size = await fileSize(file)
  await ctx.engine.ping()
  const db = await runningDb(ctx, 'restore')
  const psql = new Psql(ctx.engine, db.id)
  const volume = volumeName(ctx.config.project)

  const record = await readRecord(file)
  if (record) await assertMatchesRecord(file, size, record)
  const listing = await listArchive(ctx, db.id, file)
  const backup = {
    pgMajor: record?.pgMajor ?? parseDumpedFromVersion(listing) ?? null,
    visits: record?.visits ?? null,
    createdAt: record?.createdAt ?? null,
    source: record ? ('record' as const) : ('header' as const),
  }
  const server = await serverVersion(psql, DB_NAME)
  if (backup.pgMajor !== server.major && !options.force) {
    throw new StackctlError(
      `${file} is a backup of PostgreSQL ${backup.pgMajor ?? '(unknown version)'}; the stack runs PostgreSQL ${server.major}`,
      {
        exitCode: 2,
        suggestion:
          'restoring across major versions may fail; pass --force to try anyway (a failed restore changes nothing)',
      },
    )
  }

  const visitsBefore = (await countVisits(ctx.engine, ctx.config.project)) ?? null
  if (!options.force) await confirmReplace(options, volume, file, visitsBefore, backup.visits)

  const now = options.now ?? new Date()
  const suffix = randomBytes(2).toString('hex')
  const fresh = stepDatabaseName(DB_NAME, 'restore', now, suffix)
  const previous = stepDatabaseName(DB_NAME, 'old', now, suffix)
  const dropForce = server.major >= 13 ? ' WITH (FORCE)' : ''

  await psql.query(`CREATE DATABASE ${fresh}`, 'postgres')
  let visits: number
  try {
    await restoreInto(ctx, db.id, file, fresh)
    visits = await verify(psql, fresh)
    await swap(psql, fresh, previous)
  } catch (error) {
    await psql.query(`DROP DATABASE IF EXISTS ${fresh}${dropForce}`, 'postgres').catch(() => {})
    throw error
  }
  const dropped = await psql
    .query(`DROP DATABASE IF EXISTS ${previous}${dropForce}`, 'postgres')
    .then(() => true)
    .catch(() => false)
  if (!dropped) ctx.progress(`restore: the replaced data is kept as database ${previous}; drop it when done`)
  return {
    file,
    project: ctx.config.project,
    volume,
    database: DB_NAME,
    backup,
    serverPgMajor: server.major,
    visitsBefore,
    visits,
    previous: {name: previous, dropped},
    seconds: (Date.now() - started) / 1000,
  }
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
  return text === undefined ? undefined : parseBackupRecord(text)
}

async function assertMatchesRecord(file: string, size: number, record: BackupRecord): Promise<void> {
  const hash = createHash('sha256')
  await pipeline(createReadStream(file), hash)
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
async function listArchive(ctx: StackContext, containerId: string, file: string): Promise<string> {
  const result = await ctx.engine.containers.exec(containerId, ['pg_restore', '--list'], {
    stdin: createReadStream(file),
  })
  if (result.exitCode !== 0) {
    throw new StackctlError(
      `${file} is not a readable pg_dump archive (truncated or corrupted): ${lastLines(result.stderr.trim(), 3)}`,
      {suggestion: 'restore an intact backup; nothing was changed'},
    )
  }
  return result.stdout
}

async function confirmReplace(
  options: RestoreOptions,
  volume: string,
  file: string,
  now: number | null,
  incoming: number | null,
): Promise<void> {
  const question =
    `This replaces database '${DB_NAME}' in volume ${volume} (${now ?? 'an unknown number of'} visits now) ` +
    `with ${path.basename(file)} (${incoming ?? 'an unknown number of'} visits).`
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

async function restoreInto(ctx: StackContext, containerId: string, file: string, database: string): Promise<void> {
  const meter = new ByteMeter((bytes) => ctx.progress(`restore: ${formatBytes(bytes)} read`))
  const input = createReadStream(file)
  input.once('error', (error) => meter.destroy(error))
  const source = input.pipe(meter)
  const result = await ctx.engine.containers.exec(
    containerId,
    ['pg_restore', '--no-owner', '--exit-on-error', '-U', DB_USER, '-d', database],
    {stdin: source},
  )
  if (result.exitCode !== 0) {
    throw new StackctlError(`${file} could not be restored: ${lastLines(result.stderr.trim(), 5)}`, {
      suggestion: 'it is truncated, corrupted or not from stackctl volume backup; the current data was not changed',
    })
  }
  ctx.progress(`restore: ${formatBytes(meter.bytes)} read, done`)
}

async function verify(psql: Psql, database: string): Promise<number> {
  const count = Number(
    await psql.query(
      "SELECT CASE WHEN to_regclass('public.visits') IS NULL THEN -1 ELSE (SELECT count(*) FROM visits) END",
      database,
    ),
  )
  if (!Number.isInteger(count) || count < 0) {
    throw new StackctlError('the backup has no visits table', {
      suggestion: 'restore a backup made by stackctl volume backup; the current data was not changed',
    })
  }
  return count
}

/**
 * Both renames commit together or not at all. Renaming needs `visits` free of sessions: the API's are ended
 * and, should its pool reconnect in between, ended again; new connections wait for the commit, then find
 * the restored database under the old name.
 */
async function swap(psql: Psql, fresh: string, previous: string): Promise<void> {
  await psql.query(
    `DO $swap$
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
$swap$`,
    'postgres',
  )
}
