/**
 * `stackctl volume backup`: a consistent `pg_dump -Fc` of the running database (one snapshot, taken while the
 * API keeps serving), streamed from the db container to a file, with a record of where it came from and of
 * the visits in that very snapshot. The record takes its name before the dump does (backup-file.ts). Interrupted
 * or failed, it stops pg_dump in the container and leaves no file behind.
 */
import {createHash} from 'node:crypto'
import path from 'node:path'
import {Transform} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import {DB_NAME, DB_USER} from '../../model/config/stack-config.js'
import {Interrupted, ProcessFailed} from '../../errors.js'
import {checkInterrupted} from '../../cli/interrupt.js'
import type {StackContext} from '../../stack/context.js'
import {claimStack} from '../../stack/ownership.js'
import {
  freeSpace,
  PartialFile,
  prepareTarget,
  publishWithRecord,
  removeStalePartials,
  type WriteContext,
  writeFailure,
} from './backup-file.js'
import {runMarker, stopMarked, streamFailure} from './container-io.js'
import {Psql, runningDb, serverVersion} from './database.js'
import {defaultBackupFile, formatBytes, sidecarPath} from './format.js'
import {type BackupRecord, RECORD_FORMAT} from './record.js'
import {judgeSchema, schemaVersionOf} from './schema.js'
import {holdSnapshot} from './snapshot.js'

export interface BackupOptions {
  /** Where to write the dump; default `<stackdir>/backups/<project>-pg<major>-<UTC timestamp>.dump`. */
  file?: string
  now?: Date
  /** Ctrl-C: stop pg_dump, remove the partial file, end with Interrupted. */
  signal?: AbortSignal
}

/**
 * What `volume backup --json` prints: the record, with its schema version named for what it is (the
 * visit-tracker's tables), since `schemaVersion` is the JSON report's own.
 */
export interface BackupResult extends Omit<BackupRecord, 'schemaVersion'> {
  trackerSchemaVersion: number | null
  file: string
  /** The sidecar record next to the dump. */
  record: string
  /** Temporary files of earlier runs that died, removed before this one. */
  staleRemoved: string[]
  seconds: number
}

export async function backupVolume(ctx: StackContext, options: BackupOptions = {}): Promise<BackupResult> {
  const started = Date.now()
  ctx.phase('check the stack and the target file')
  await ctx.engine.ping()
  await claimStack(ctx, {adopt: ctx.adopt}) // never another stack's data, unless adopted
  const db = await runningDb(ctx, 'back up')
  return backupFromContainer(ctx, db.id, options, started)
}

/**
 * The backup itself, from a running db container of the stack on ctx.engine (the caller found it and vouched
 * for it: the Compose stack's own db, or a swarm stack's db task on its node).
 */
export async function backupFromContainer(
  ctx: StackContext,
  dbId: string,
  options: BackupOptions = {},
  started = Date.now(),
): Promise<BackupResult> {
  const {signal} = options
  const {project} = ctx.config
  const db = {id: dbId}
  const server = await serverVersion(new Psql(ctx.engine, db.id), DB_NAME)
  const createdAt = options.now ?? new Date()
  const file = path.resolve(options.file ?? defaultBackupFile(ctx.paths.dir, project, server.major, createdAt))
  await prepareTarget(file, {stackDirectory: options.file === undefined})
  const staleRemoved = [...(await removeStalePartials(file)), ...(await removeStalePartials(sidecarPath(file)))]
  for (const stale of staleRemoved) ctx.progress(`backup: removed ${stale}, left by a backup that was killed`)
  checkInterrupted(signal, 'nothing was written')

  const dir = path.dirname(file)
  const freeBefore = await freeSpace(dir)
  const meter = new ByteMeter((bytes) => ctx.progress(`backup: ${formatBytes(bytes)} written`))
  const dumpWrite = (written: number): WriteContext => ({
    what: `the backup ${file}`,
    dir,
    freeBefore,
    written: `${formatBytes(written)} of the dump written`,
    unchanged: `nothing was written to ${file}`,
  })
  const marker = runMarker()
  ctx.phase('dump the database (pg_dump)')
  const partial = await PartialFile.create(file).catch((error: unknown) => {
    throw writeFailure(error, dumpWrite(0)) ?? error
  })
  let snapshot: {visits: number | null; schemaVersion: number | null}
  try {
    const held = await holdSnapshot(ctx.engine, db.id, {env: [marker], signal})
    snapshot = {visits: held.visits, schemaVersion: schemaVersionOf(held.schema)}
    const problems = judgeSchema(held.schema).problems
    if (problems.length > 0) ctx.progress(`backup: warning: not a visit-tracker database (${problems.join('; ')})`)
    ctx.progress(`backup: streaming pg_dump of ${held.visits ?? 'an unknown number of'} visits to ${partial.target}`)
    const writing = pipeline(meter, partial.stream())
    const dumping = ctx.engine.containers
      .exec(db.id, ['pg_dump', '-Fc', `--snapshot=${held.id}`, '-U', DB_USER, '-d', DB_NAME], {
        stdout: meter,
        env: [marker],
        signal,
      })
      .catch((error: Error) => {
        meter.destroy(error)
        throw error
      })
    const [dump] = await Promise.all([dumping, writing])
    if (dump.exitCode !== 0) throw new ProcessFailed('pg_dump', dump.exitCode, dump.stderr)
    await held.release()
    await partial.seal()
  } catch (error) {
    throw await undoBackup(ctx, db.id, marker, partial, error, signal, dumpWrite(partial.bytesWritten))
  }

  const record: BackupRecord = {
    format: RECORD_FORMAT,
    project,
    volume: ctx.config.volume,
    database: DB_NAME,
    pgMajor: server.major,
    pgVersion: server.version,
    schemaVersion: snapshot.schemaVersion,
    visits: snapshot.visits,
    createdAt: createdAt.toISOString(),
    bytes: meter.bytes,
    sha256: meter.sha256(),
  }
  const recordFile = sidecarPath(file)
  await publishWithRecord(partial, JSON.stringify(record, null, 2) + '\n').catch((error: unknown) => {
    throw (
      writeFailure(error, {
        what: `the backup's record ${recordFile}`,
        dir,
        freeBefore,
        written: `the ${formatBytes(meter.bytes)} dump fit, its record did not`,
        unchanged: `neither ${path.basename(file)} nor its record was left in ${dir}`,
      }) ?? error
    )
  })
  ctx.progress(`backup: ${formatBytes(meter.bytes)} written, done`)
  checkInterrupted(signal, `the backup had already finished: ${file} and its record ${recordFile} are complete`)
  const {schemaVersion: trackerSchemaVersion, ...recorded} = record
  return {
    ...recorded,
    trackerSchemaVersion,
    file,
    record: recordFile,
    staleRemoved,
    seconds: (Date.now() - started) / 1000,
  }
}

/** Stops what still runs in the container and removes the partial file; the error to throw says so. */
async function undoBackup(
  ctx: StackContext,
  containerId: string,
  marker: string,
  partial: PartialFile,
  error: unknown,
  signal: AbortSignal | undefined,
  write: WriteContext,
): Promise<Error> {
  const stopped = await stopMarked(ctx.engine, containerId, marker, ['pg_dump', 'psql']).catch(
    (stopError: Error) => stopError,
  )
  const removed = await partial.discard()
  if (stopped instanceof Error) return stopped
  if (signal?.aborted) {
    const undone = [
      stopped > 0 ? 'pg_dump in the db container was stopped' : 'nothing was left running in the db container',
      removed ? `the partial file ${partial.path} was removed` : 'no file was left',
    ]
    return new Interrupted(
      `backup stopped: ${undone.join(' and ')}; ${partial.target} was not written`,
      'the stack is still running; run the backup again when you are ready',
    )
  }
  return (
    writeFailure(error, write) ??
    streamFailure(error, 'streaming the dump from the db container', `nothing was written to ${partial.target}`)
  )
}

/** Passes bytes through, hashing and counting them, and reports progress at most once a second. */
export class ByteMeter extends Transform {
  bytes = 0
  private readonly hash = createHash('sha256')
  /** Set by the first chunk: a dump that streams in under a second is reported once, when it is done. */
  private lastReport: number | undefined

  constructor(private readonly report: (bytes: number) => void) {
    super()
  }

  override _transform(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null, data?: Buffer) => void,
  ) {
    this.hash.update(chunk)
    this.bytes += chunk.length
    this.lastReport ??= Date.now()
    if (Date.now() - this.lastReport >= 1000) {
      this.lastReport = Date.now()
      this.report(this.bytes)
    }
    callback(null, chunk)
  }

  sha256(): string {
    return this.hash.digest('hex')
  }
}
