/**
 * One snapshot for the dump and for what the record says about it. A psql session in the db container opens
 * a REPEATABLE READ transaction, exports its snapshot, reads the schema and counts the visits in it, and
 * stays open while pg_dump runs with --snapshot: the dump and the count see exactly the same rows, however
 * many visits arrive meanwhile.
 */
import {PassThrough, Writable} from 'node:stream'

import {DB_NAME, DB_USER} from '../../model/config/stack-config.js'
import type {Engine, ExecResult} from '../../engine/engine.js'
import {StackctlError} from '../../errors.js'
import {parseSchemaReport, SCHEMA_REPORT_SQL, type SchemaReport} from './schema.js'

export interface HeldSnapshot {
  /** pg_export_snapshot()'s id, for pg_dump --snapshot. */
  id: string
  schema: SchemaReport
  /** Rows in visits in the snapshot; null when there is no visits table. */
  visits: number | null
  /** Ends the transaction and the session. */
  release(): Promise<void>
}

/** A writable that hands out stdout line by line. */
class Lines extends Writable {
  private buffer = ''
  private readonly ready: string[] = []
  private waiter?: (line: string) => void

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.buffer += chunk.toString('utf8')
    let newline: number
    while ((newline = this.buffer.indexOf('\n')) >= 0) {
      this.ready.push(this.buffer.slice(0, newline))
      this.buffer = this.buffer.slice(newline + 1)
    }
    this.deliver()
    callback()
  }

  next(): Promise<string> {
    return new Promise((resolve) => {
      this.waiter = resolve
      this.deliver()
    })
  }

  private deliver(): void {
    if (this.waiter && this.ready.length > 0) {
      const waiter = this.waiter
      this.waiter = undefined
      waiter(this.ready.shift()!)
    }
  }
}

export async function holdSnapshot(
  engine: Engine,
  containerId: string,
  options: {env: string[]; signal?: AbortSignal},
): Promise<HeldSnapshot> {
  const input = new PassThrough()
  const lines = new Lines()
  const session = engine.containers.exec(
    containerId,
    ['psql', '-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', '-U', DB_USER, '-d', DB_NAME],
    {stdin: input, stdout: lines, env: options.env, signal: options.signal},
  )
  // Until release() awaits it, an early end of the session is noticed through `ended` below.
  session.catch(() => {})
  const ended = session.then((result) => {
    throw sessionFailed(result)
  })
  ended.catch(() => {})
  const answer = (sql: string) => {
    input.write(`${sql};\n`)
    return Promise.race([lines.next(), ended])
  }

  input.write('SET idle_in_transaction_session_timeout = 0;\n')
  input.write('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\n')
  const id = (await answer('SELECT pg_export_snapshot()')).trim()
  const schema = parseSchemaReport((await answer(SCHEMA_REPORT_SQL.replace(/\n/g, ' '))).trim())
  const visits = schema.visits ? Number(await answer('SELECT count(*) FROM public.visits')) : null
  return {
    id,
    schema,
    visits,
    async release() {
      input.end('COMMIT;\n')
      const result = await session
      if (result.exitCode !== 0) throw sessionFailed(result)
    },
  }
}

function sessionFailed(result: ExecResult): StackctlError {
  return new StackctlError(
    `the snapshot session in the db container ended (exit ${result.exitCode}): ${result.stderr.trim() || 'no message'}`,
    {suggestion: 'check the database with stackctl status and stackctl logs db, then try again'},
  )
}
