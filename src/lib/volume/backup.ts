/**
 * `stackctl volume backup`: a consistent `pg_dump -Fc` of the running database (one snapshot, taken while the
 * API keeps serving), streamed from the db container to a file, with a record of where it came from.
 */
import {createHash} from 'node:crypto'
import {createWriteStream, existsSync} from 'node:fs'
import {mkdir, rename, rm} from 'node:fs/promises'
import path from 'node:path'
import {Transform} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import {DB_NAME, DB_USER, volumeName} from '../config/stack-config.js'
import {ProcessFailed, UsageError} from '../errors.js'
import {writeFileAtomic} from '../stackdir/stack-files.js'
import type {StackContext} from '../stack/context.js'
import {countVisits} from '../db/visits.js'
import {Psql, runningDb, serverVersion} from './database.js'
import {type BackupRecord, defaultBackupFile, formatBytes, sidecarPath} from './format.js'

export interface BackupOptions {
  /** Where to write the dump; default `<stackdir>/backups/<project>-pg<major>-<UTC timestamp>.dump`. */
  file?: string
  now?: Date
}

export interface BackupResult extends BackupRecord {
  file: string
  /** The sidecar record next to the dump. */
  record: string
  seconds: number
}

export async function backupVolume(ctx: StackContext, options: BackupOptions = {}): Promise<BackupResult> {
  const started = Date.now()
  await ctx.engine.ping()
  const {project} = ctx.config
  const db = await runningDb(ctx, 'back up')
  const server = await serverVersion(new Psql(ctx.engine, db.id), DB_NAME)
  const createdAt = options.now ?? new Date()
  const file = path.resolve(options.file ?? defaultBackupFile(ctx.paths.dir, project, server.major, createdAt))
  if (existsSync(file)) {
    throw new UsageError(`${file} already exists`, 'choose another file name; a backup is never overwritten')
  }
  // Counted just before the dump's snapshot: exact unless visits arrive in between.
  const visits = (await countVisits(ctx.engine, ctx.config.project)) ?? null

  await mkdir(path.dirname(file), {recursive: true})
  const partial = `${file}.partial`
  const meter = new ByteMeter((bytes) => ctx.progress(`backup: ${formatBytes(bytes)} written`))
  try {
    const writing = pipeline(meter, createWriteStream(partial, {flags: 'wx', mode: 0o600}))
    const dumping = ctx.engine.containers
      .exec(db.id, ['pg_dump', '-Fc', '-U', DB_USER, '-d', DB_NAME], {
        stdout: meter,
      })
      .catch((error: Error) => {
        meter.destroy(error)
        throw error
      })
    const [dump] = await Promise.all([dumping, writing])
    if (dump.exitCode !== 0) throw new ProcessFailed('pg_dump', dump.exitCode, dump.stderr)
    await rename(partial, file)
  } catch (error) {
    await rm(partial, {force: true})
    throw error
  }
  ctx.progress(`backup: ${formatBytes(meter.bytes)} written, done`)

  const record: BackupRecord = {
    format: 'stackctl-backup/1',
    project,
    volume: volumeName(project),
    database: DB_NAME,
    pgMajor: server.major,
    pgVersion: server.version,
    visits,
    createdAt: createdAt.toISOString(),
    bytes: meter.bytes,
    sha256: meter.sha256(),
  }
  const recordFile = sidecarPath(file)
  await writeFileAtomic(recordFile, JSON.stringify(record, null, 2) + '\n', 0o644)
  return {...record, file, record: recordFile, seconds: (Date.now() - started) / 1000}
}

/** Passes bytes through, hashing and counting them, and reports progress at most once a second. */
export class ByteMeter extends Transform {
  bytes = 0
  private readonly hash = createHash('sha256')
  private lastReport = Date.now()

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
