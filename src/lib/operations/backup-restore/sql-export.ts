/**
 * `stackctl db export [FILE]`: the stack's database as plain SQL (pg_dump's text format), for other tools and
 * for `db import` into another stack. The file drops and recreates the stack's tables (--clean --if-exists),
 * so importing it replaces what a stack holds, which `db import` asks about. It is written like a backup:
 * to a temporary file of this run's own (created exclusively, never through a link) that takes FILE's name
 * only when complete; an existing FILE is never replaced. `.gz` compresses it. Without FILE it goes to stdout.
 */
import path from 'node:path'
import {Writable, type Transform} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {createGzip} from 'node:zlib'

import {DB_NAME, DB_USER} from '../../model/config/stack-config.js'
import {Interrupted, ProcessFailed, UsageError} from '../../errors.js'
import {lstatOptional} from '../../model/stackdir/files.js'
import type {StackContext} from '../../stack/context.js'
import {claimStack} from '../../stack/ownership.js'
import {ByteMeter} from './backup.js'
import {freeSpace, PartialFile, writeFailure} from './backup-file.js'
import {runMarker, stopMarked, streamFailure} from './container-io.js'
import {Psql, runningDb, serverVersion} from './database.js'
import {formatBytes} from './format.js'
import {holdSnapshot} from './snapshot.js'

export interface ExportResult {
  /** The file written; null when the SQL went to stdout. */
  file: string | null
  /** gzip-compressed (FILE ends in .gz). */
  compressed: boolean
  /** Bytes written (after compression). */
  bytes: number
  /** Visits in the exported snapshot; null when the database has no visits table. */
  visits: number | null
  pgMajor: number
  seconds: number
}

export interface ExportOptions {
  /** Where to write; undefined: `stdout`. */
  file?: string
  /** Receives the SQL when there is no file (the process's stdout). */
  stdout?: Writable
  signal?: AbortSignal
}

/** pg_dump's plain format, replayable by `db import` into a stack that already has the tables. */
export function exportDumpArgs(snapshot: string): string[] {
  const clean = ['--clean', '--if-exists', '--no-owner', '--no-privileges']
  return ['pg_dump', `--snapshot=${snapshot}`, ...clean, '-U', DB_USER, '-d', DB_NAME]
}

export async function exportDatabase(ctx: StackContext, options: ExportOptions): Promise<ExportResult> {
  const started = Date.now()
  const file = options.file === undefined ? undefined : path.resolve(options.file)
  if (file) await checkExportTarget(file)
  await ctx.engine.ping()
  await claimStack(ctx)
  const db = await runningDb(ctx, 'export the database')
  const server = await serverVersion(new Psql(ctx.engine, db.id), DB_NAME)
  const compressed = file?.endsWith('.gz') ?? false
  const marker = runMarker()
  const meter = new ByteMeter((bytes) => ctx.progress(`export: ${formatBytes(bytes)} written`))
  const dir = file ? path.dirname(file) : undefined
  const freeBefore = dir ? await freeSpace(dir) : undefined
  const partial = file
    ? await PartialFile.create(file).catch((error: unknown) => {
        throw writeFailure(error, writeContext(file, freeBefore, 0)) ?? error
      })
    : undefined
  const sink = partial ? partial.stream() : toStdout(options.stdout ?? process.stdout)
  const {signal} = options
  let visits: number | null
  try {
    const held = await holdSnapshot(ctx.engine, db.id, {env: [marker], signal})
    visits = held.visits
    ctx.progress(`export: pg_dump of ${visits ?? 'an unknown number of'} visits to ${file ?? 'stdout'}`)
    const source = compressed ? createGzip() : undefined
    const stages: Array<Transform | Writable> = source ? [source, meter, sink] : [meter, sink]
    const head = stages[0] as Transform
    const writing = pipeline(stages as [Transform, ...Writable[]])
    const dumping = ctx.engine.containers
      .exec(db.id, exportDumpArgs(held.id), {stdout: head, env: [marker], signal})
      .catch((error: Error) => {
        head.destroy(error)
        throw error
      })
    const [dump] = await Promise.all([dumping, writing])
    if (dump.exitCode !== 0) throw new ProcessFailed('pg_dump', dump.exitCode, dump.stderr)
    await held.release()
    if (partial) {
      await partial.seal()
      await partial.publish()
    }
  } catch (error) {
    throw await undoExport(ctx, db.id, marker, partial, error, signal, file, freeBefore, meter.bytes)
  }
  ctx.progress(`export: ${formatBytes(meter.bytes)} written`)
  return {
    file: file ?? null,
    compressed,
    bytes: meter.bytes,
    visits,
    pgMajor: server.major,
    seconds: (Date.now() - started) / 1000,
  }
}

/** FILE must not exist in any form (a link included) and its directory must: nothing is created or replaced. */
async function checkExportTarget(file: string): Promise<void> {
  const existing = await lstatOptional(file)
  if (existing?.isSymbolicLink()) {
    throw new UsageError(
      `${file} is a symbolic link`,
      'choose a path that does not exist yet; stackctl never writes through a link',
    )
  }
  if (existing) throw new UsageError(`${file} already exists`, 'choose another file name; an export never overwrites')
  const dir = await lstatOptional(path.dirname(file))
  if (!dir?.isDirectory()) {
    throw new UsageError(
      `${path.dirname(file)} is not a directory`,
      'export into an existing directory (stackctl creates none for an export)',
    )
  }
}

function writeContext(file: string, freeBefore: number | undefined, written: number) {
  return {
    what: `the export ${file}`,
    dir: path.dirname(file),
    freeBefore,
    written: `${formatBytes(written)} of the export written`,
    unchanged: `nothing was written to ${file}`,
  }
}

/** Writes into the process's stdout without ending it (oclif still prints to it); a closed pipe is an error. */
function toStdout(stdout: Writable): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      stdout.write(chunk, (error) => callback(error ?? undefined))
    },
  })
}

async function undoExport(
  ctx: StackContext,
  containerId: string,
  marker: string,
  partial: PartialFile | undefined,
  error: unknown,
  signal: AbortSignal | undefined,
  file: string | undefined,
  freeBefore: number | undefined,
  written: number,
): Promise<Error> {
  const stopped = await stopMarked(ctx.engine, containerId, marker, ['pg_dump', 'psql']).catch(
    (stopError: Error) => stopError,
  )
  const removed = partial ? await partial.discard() : false
  if (stopped instanceof Error) return stopped
  const unchanged = file ? `${file} was not written` : 'the SQL on stdout is incomplete'
  if (signal?.aborted) {
    const undone = [
      stopped > 0 ? 'pg_dump in the db container was stopped' : 'nothing was left running in the db container',
      ...(removed ? [`the partial file ${partial!.path} was removed`] : []),
    ]
    return new Interrupted(`export stopped: ${undone.join(' and ')}; ${unchanged}`, 'run the export again when ready')
  }
  return (
    (file ? writeFailure(error, writeContext(file, freeBefore, written)) : undefined) ??
    streamFailure(error, 'streaming the export from the db container', unchanged)
  )
}
