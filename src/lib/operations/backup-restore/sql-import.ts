/**
 * `stackctl db import FILE`: runs a SQL file (plain, or gzip-compressed) in the stack's database, in one
 * transaction. stackctl, not the file's end, decides the commit: psql reads `BEGIN;`, the file, and a COMMIT
 * that is sent only once the whole file was read without error. A file cut short, a psql error, Ctrl-C or a
 * killed stackctl all end the session without that COMMIT, so PostgreSQL rolls everything back. (A file that
 * commits by itself, or holds statements that cannot run in a transaction, is the exception: the former is
 * committed in parts, the latter fails and is rolled back.) A database holding visits is only changed after
 * the user confirms (or --force). On a stack that archives its WAL, a named restore point is made first (after
 * the confirmation, before anything runs): `db restore --to-name` returns to the data as it was.
 */
import {randomBytes} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {open, stat} from 'node:fs/promises'
import {pipeline, Readable, Writable} from 'node:stream'
import {createGunzip} from 'node:zlib'
import path from 'node:path'

import {DB_NAME, DB_USER} from '../../model/config/stack-config.js'
import {stackCommand, shellQuote} from '../../model/config/command-line.js'
import {Interrupted, lastLines, StackctlError, UsageError} from '../../errors.js'
import type {StackContext} from '../../stack/context.js'
import {claimStack} from '../../stack/ownership.js'
import {ByteMeter} from './backup.js'
import {runMarker, stopMarked, streamFailure} from './container-io.js'
import {Psql, runningDb} from './database.js'
import {formatBytes} from './format.js'
import {plural} from '../../cli/ui/plural.js'
import {makeRestorePoint, type RestorePoint} from '../protect/restore-point.js'

export interface ImportResult {
  file: string
  compressed: boolean
  /** Bytes of SQL run (after decompression). */
  bytes: number
  /** Visits before and after; null where there was no visits table. */
  visitsBefore: number | null
  visitsAfter: number | null
  /** The restore point made before the import ran (a stack that archives its WAL), else null. */
  restorePoint: RestorePoint | null
  seconds: number
}

export interface ImportOptions {
  file: string
  force?: boolean
  /** Asks the user to type `expected` back; undefined without a terminal. */
  confirm?: (question: string, expected: string) => Promise<boolean>
  signal?: AbortSignal
}

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b])
/** How much of the (decompressed) file is looked at before anything runs. */
const SNIFF_BYTES = 64 * 1024

/** psql reading SQL from stdin (`-f -`: its errors name the line): no psqlrc, quiet, stop at the first error. */
export const IMPORT_PSQL = ['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-U', DB_USER, '-d', DB_NAME, '-f', '-']

export async function importDatabase(ctx: StackContext, options: ImportOptions): Promise<ImportResult> {
  const started = Date.now()
  const file = path.resolve(options.file)
  const compressed = await checkImportFile(ctx, file)
  await ctx.engine.ping()
  await claimStack(ctx)
  const db = await runningDb(ctx, 'import into the database')
  const psql = new Psql(ctx.engine, db.id)
  const visitsBefore = await countVisits(psql)
  if (visitsBefore !== null && visitsBefore > 0 && !options.force) {
    await confirmImport(ctx, options, file, visitsBefore)
  }
  const restorePoint = await makeRestorePoint(ctx, 'db import', options.signal)
  ctx.progress(`import: running ${file} in database '${DB_NAME}' in one transaction`)
  const bytes = await runInTransaction(ctx, db.id, file, compressed, options.signal)
  return {
    file,
    compressed,
    bytes,
    visitsBefore,
    visitsAfter: await countVisits(psql),
    restorePoint,
    seconds: (Date.now() - started) / 1000,
  }
}

/**
 * A file stackctl can run: a regular, non-empty file of SQL text, plain or gzip-compressed (by its content;
 * a `.gz` name must be). A pg_dump archive is pointed at `volume restore`. True when compressed.
 */
export async function checkImportFile(ctx: Pick<StackContext, 'config'>, file: string): Promise<boolean> {
  const info = await stat(file).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(
      `cannot read ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`,
      'name a .sql or .sql.gz file',
    )
  })
  if (!info.isFile()) throw new UsageError(`${file} is not a file`, 'name a .sql or .sql.gz file')
  const magic = await readHead(file, 2)
  const compressed = magic.equals(GZIP_MAGIC)
  if (file.endsWith('.gz') && !compressed) {
    throw new UsageError(`${file} ends in .gz but is not gzip-compressed`, 'rename it without .gz if it is plain SQL')
  }
  const head = await sniff(file, compressed)
  if (head.length === 0) throw new UsageError(`${file} holds no SQL (it is empty)`, 'name a file with SQL in it')
  if (head.subarray(0, 5).toString('latin1') === 'PGDMP') {
    throw new UsageError(
      `${file} is a pg_dump archive (custom format), not SQL`,
      `restore it with ${stackCommand(ctx.config, `volume restore ${shellQuote(file)}`)}`,
    )
  }
  if (head.includes(0)) {
    throw new UsageError(`${file} is not SQL text (it holds binary data)`, 'name a .sql or .sql.gz file')
  }
  return compressed
}

async function readHead(file: string, bytes: number): Promise<Buffer> {
  const handle = await open(file, 'r')
  try {
    const {buffer, bytesRead} = await handle.read(Buffer.alloc(bytes), 0, bytes, 0)
    return buffer.subarray(0, bytesRead)
  } finally {
    await handle.close()
  }
}

/** The first SNIFF_BYTES of the SQL; a corrupt gzip header or body there is a usage error. */
async function sniff(file: string, compressed: boolean): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  const input = createReadStream(file)
  const source = compressed ? input.pipe(createGunzip()) : input
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      chunks.push(chunk)
      size += chunk.length
      if (size >= SNIFF_BYTES) break
    }
  } catch (error) {
    throw new UsageError(
      `${file} is not a readable gzip file (${(error as Error).message})`,
      'check the file (gzip -t FILE); nothing was changed',
    )
  } finally {
    input.destroy()
  }
  return Buffer.concat(chunks).subarray(0, SNIFF_BYTES)
}

async function countVisits(psql: Psql): Promise<number | null> {
  const answer = await psql.tryQuery(
    "SELECT CASE WHEN to_regclass('public.visits') IS NULL THEN -1 ELSE (SELECT count(*) FROM public.visits) END",
  )
  if (answer === undefined || !/^-?\d+$/.test(answer) || answer === '-1') return null
  return Number(answer)
}

async function confirmImport(ctx: StackContext, options: ImportOptions, file: string, visits: number): Promise<void> {
  const {volume} = ctx.config
  const held = plural(visits, 'visit')
  if (!options.confirm) {
    throw new StackctlError(
      `refusing to run ${path.basename(file)} in database '${DB_NAME}' (${held}) without confirmation (no terminal); ` +
        `stackctl keeps no copy of what it replaces (${stackCommand(ctx.config, 'volume backup')} takes one)`,
      {
        exitCode: 2,
        suggestion: `to run it anyway: ${stackCommand(ctx.config, `db import ${shellQuote(file)} --force`)}`,
      },
    )
  }
  const question =
    `This runs ${path.basename(file)} in database '${DB_NAME}' of volume ${volume} (${held} now); ` +
    `stackctl keeps no copy of what it drops or changes (a file from stackctl db export replaces the tables): ` +
    `take a backup first with ${stackCommand(ctx.config, 'volume backup')} if you may want it back.`
  if (!(await options.confirm(question, volume))) {
    throw new StackctlError(`not confirmed: database '${DB_NAME}' in volume ${volume} was not changed`)
  }
}

/**
 * psql in the db container reads `BEGIN;`, the file and, only after the whole file was read, the COMMIT and a
 * marker it echoes to stderr once the COMMIT succeeded: the marker is how stackctl knows the import committed
 * (psql ends with 0 also when the file ended inside an unclosed quote and swallowed the COMMIT).
 */
async function runInTransaction(
  ctx: StackContext,
  containerId: string,
  file: string,
  compressed: boolean,
  signal: AbortSignal | undefined,
): Promise<number> {
  const marker = runMarker()
  const committedMark = `stackctl-import-committed-${randomBytes(6).toString('hex')}`
  const meter = new ByteMeter((bytes) => ctx.progress(`import: ${formatBytes(bytes)} run`))
  const state: {readError?: Error} = {}
  const input = createReadStream(file)
  // pipeline passes a read or gunzip error on to the meter, whose iteration below then throws it.
  const sql: Readable = compressed ? pipeline(input, createGunzip(), meter, () => {}) : pipeline(input, meter, () => {})

  async function* transaction(): AsyncGenerator<Buffer | string> {
    // On the file's first line, so psql's line numbers in an error are the file's.
    yield 'BEGIN;'
    try {
      for await (const chunk of sql as AsyncIterable<Buffer>) {
        if (signal?.aborted) return
        yield chunk
      }
    } catch (error) {
      state.readError = error as Error
      return // no COMMIT: the session ends and PostgreSQL rolls the import back
    }
    if (signal?.aborted) return
    yield `\n;\nCOMMIT;\n\\warn ${committedMark}\n`
  }

  // Ctrl-C ends the import's session: PostgreSQL rolls back what has not committed, whatever psql was doing
  // (running a statement, waiting for input or a lock). Whether the COMMIT came first, its mark says.
  const appName = `stackctl-import-${randomBytes(6).toString('hex')}`
  const endSession = () => {
    void new Psql(ctx.engine, containerId).tryQuery(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '${appName}'`,
      'postgres',
    )
  }
  signal?.addEventListener('abort', endSession, {once: true})
  const discard = new Writable({write: (_chunk, _encoding, callback) => callback()})
  let result
  try {
    result = await ctx.engine.containers.exec(containerId, IMPORT_PSQL, {
      stdin: Readable.from(transaction()),
      stdout: discard,
      env: [marker, `PGAPPNAME=${appName}`],
    })
  } catch (error) {
    const stopped = await stopMarked(ctx.engine, containerId, marker, ['psql']).catch((e: Error) => e)
    if (stopped instanceof Error) throw stopped
    throw streamFailure(error, `streaming ${file} to the db container`, 'nothing was imported')
  } finally {
    signal?.removeEventListener('abort', endSession)
    input.destroy()
  }
  const committed = result.stderr.includes(committedMark)
  if (signal?.aborted) {
    if (committed) {
      throw new Interrupted(
        `the import had already committed when the signal came: ${file} was imported (${formatBytes(meter.bytes)})`,
      )
    }
    throw new Interrupted(
      'import stopped before it committed: its session was ended, so PostgreSQL rolled it back and nothing was imported',
      `run ${stackCommand(ctx.config, `db import ${shellQuote(file)}`)} again when ready`,
    )
  }
  if (state.readError) {
    throw new StackctlError(`${file} could not be read to its end (${state.readError.message})`, {
      suggestion: 'check the file (gzip -t FILE for a .gz); nothing was imported: the transaction was rolled back',
    })
  }
  if (/unterminated (quoted|dollar-quoted) string|unterminated \/\* comment/.test(result.stderr)) {
    throw new StackctlError(`${file} ends inside an unfinished statement (an unclosed quote or comment)`, {
      suggestion: 'fix the end of the file and import it again; nothing was imported: the transaction was rolled back',
    })
  }
  if (result.exitCode !== 0) {
    const said = lastLines(result.stderr.replaceAll(committedMark, '').trim(), 3)
    const notInTransaction = /cannot run inside a transaction block|cannot be executed from a function/.test(said)
    throw new StackctlError(`the import of ${file} failed: ${said || `psql exited with ${result.exitCode}`}`, {
      suggestion: notInTransaction
        ? 'the file must run in one transaction: remove statements such as CREATE DATABASE or VACUUM; nothing was imported'
        : 'fix the file at the line psql names and import it again; nothing was imported: the transaction was rolled back',
    })
  }
  if (!committed) {
    throw new StackctlError(`${file} ends inside an unfinished statement (an unclosed quote or comment?)`, {
      suggestion: 'fix the end of the file and import it again; nothing was imported: the transaction was rolled back',
    })
  }
  ctx.progress(`import: ${formatBytes(meter.bytes)} run, committed`)
  return meter.bytes
}
