/**
 * PostgreSQL access for the API: the pool, the schema, the start-up wait and the three queries. Every error
 * that means "the database cannot be reached right now" becomes a DatabaseUnavailableError (HTTP 503); any
 * other error stays what it is (HTTP 500).
 */
import {readFile} from 'node:fs/promises'

import pg from 'pg'

import {passwordSource, type DbConfig} from './config.js'
import {errorFields, type Logger} from './log.js'
import type {VisitsQuery} from './query.js'
import {retry, type BackoffOptions} from './retry.js'
import {Batcher} from './batch.js'

/**
 * Visits are written in batches (one statement per batch, see RECORD_VISITS_SQL), so the counter is one row:
 * its lock is taken once per batch, not once per visit. Volumes written by earlier versions hold 16 shard
 * rows; the schema step folds them into this one.
 */
export const COUNTER_SHARDS = 1

/** Two instances starting together must not both create the tables or seed the counter. */
const SCHEMA_LOCK_KEY = 7_402_117_355

/**
 * Idempotent, in one transaction (a DO block) under a transaction-level advisory lock. When the counter is
 * first created next to an existing visits table, it starts from count(*) once; the table is locked against
 * inserts meanwhile so no visit falls between the count and the counter. Shard rows other than 0 (left by an
 * earlier version that spread the counter over 16 rows) are folded into row 0 with the counter locked
 * against writers, so their sum, and therefore sum(n) = count(*), is kept.
 */
export const SCHEMA_SQL = `DO $$
BEGIN
  PERFORM pg_advisory_xact_lock(${SCHEMA_LOCK_KEY});
  CREATE TABLE IF NOT EXISTS visits (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    visited_at timestamptz NOT NULL DEFAULT now()
  );
  IF to_regclass('visit_counter') IS NULL THEN
    CREATE TABLE visit_counter (shard smallint PRIMARY KEY, n bigint NOT NULL CHECK (n >= 0));
    LOCK TABLE visits IN SHARE MODE;
    INSERT INTO visit_counter (shard, n) SELECT 0, count(*) FROM visits;
  END IF;
  IF EXISTS (SELECT FROM visit_counter WHERE shard <> 0) THEN
    LOCK TABLE visit_counter IN EXCLUSIVE MODE;
    INSERT INTO visit_counter AS c (shard, n) SELECT 0, sum(n) FROM visit_counter
    ON CONFLICT (shard) DO UPDATE SET n = EXCLUDED.n;
    DELETE FROM visit_counter WHERE shard <> 0;
  END IF;
  INSERT INTO visit_counter (shard, n) VALUES (0, 0) ON CONFLICT (shard) DO NOTHING;
END
$$`

/**
 * A batch of $1 visits in one statement, one round trip and one commit: insert the rows, add $1 to the
 * counter and return the new ids (ascending) and the new total. Exact under READ COMMITTED because:
 * - the upsert's DO UPDATE always applies `n + $1` to the newest committed version of the counter row (it
 *   waits for a concurrent writer of that row, then re-reads it), so no increment is ever lost, and the rows
 *   and their increment commit together, so sum(n) = count(*) at every commit;
 * - batches that touch the counter row are therefore serialised by its row lock: a batch's total T counts
 *   every visit committed before it, and its own visits get the totals T - $1 + 1 … T in id order. So a visit
 *   whose request started after another's reply was sent always reports a larger total, and totals are
 *   unique;
 * - all parts of a WITH statement read one snapshot and do not see each other's writes, so a plain
 *   `SELECT sum(n) FROM visit_counter` here would miss this very batch: the total is the counter row as
 *   RETURNING reports it, plus any other shard row (none once the schema step folded them; a row added by
 *   an instance of an earlier version still counts).
 * The visits' time is the transaction's start, now(), as the column default would give.
 */
export const RECORD_VISITS_SQL = `WITH batch AS (
  INSERT INTO visits (visited_at) SELECT now() FROM generate_series(1, $1::int)
  RETURNING id
), bumped AS (
  INSERT INTO visit_counter AS c (shard, n) VALUES (0, $1::int)
  ON CONFLICT (shard) DO UPDATE SET n = c.n + EXCLUDED.n
  RETURNING c.n
)
SELECT (SELECT array_to_string(array_agg(id ORDER BY id), ',') FROM batch) AS ids, now() AS visited_at,
  ((SELECT n FROM bumped) + (SELECT coalesce(sum(o.n), 0) FROM visit_counter AS o WHERE o.shard <> 0))::bigint AS total`

/** One visit: the batch statement with a batch of one (what pgbench's same-SQL reference runs). */
export const RECORD_VISIT_SQL = RECORD_VISITS_SQL.replaceAll('$1::int', '1')

export const LIST_VISITS_SQL = 'SELECT id, visited_at FROM visits ORDER BY id DESC LIMIT $1'
export const LIST_VISITS_BEFORE_SQL = 'SELECT id, visited_at FROM visits WHERE id < $2 ORDER BY id DESC LIMIT $1'

/**
 * Visits need one connection per batch in flight; the rest serve /visits and /healthz. Few connections also
 * mean few SCRAM handshakes when the pool is cold.
 */
export const POOL_SIZE = 8
/** Kept open when idle, so a burst after a quiet spell does not start by connecting. */
const POOL_MIN = 2
export const IDLE_TIMEOUT_MS = 10_000
/**
 * For a new connection or a free one. Generous: on saturated cores a SCRAM handshake alone can take seconds,
 * and a busy database is not an unavailable one. A refused connection or a failed authentication is an
 * answer and fails at once; a database that hangs still gets its 503 within the server's 10 s.
 */
const CONNECT_TIMEOUT_MS = 8000
/** Server-side limit; the client-side one is a little longer so the server's clearer error usually wins. */
const STATEMENT_TIMEOUT_MS = 5000
const QUERY_TIMEOUT_MS = 6000
export const PING_TIMEOUT_MS = 2000
/** Visits per statement at most; one batch is written at a time (the counter row serialises them anyway). */
export const BATCH_LIMITS = {maxSize: 500, maxInFlight: 1}

export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError'
}

/**
 * SQLSTATE classes that mean the server cannot serve us now: 08 connection exception, 28 invalid
 * authorization, 3D invalid catalog name, 53 insufficient resources, 57 operator intervention (shutdown,
 * starting up, statement timeout).
 */
const UNAVAILABLE_CLASSES = new Set(['08', '28', '3D', '53', '57'])
/** 55000: "database … is not currently accepting connections", while a restore swaps the database in. */
const UNAVAILABLE_CODES = new Set(['55000'])

/** Socket and DNS errors: the server cannot be reached, or the connection to it broke. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
])

/**
 * node-postgres' and pg-pool's own errors for a connection that broke, timed out or could not be made. They
 * carry no code, so their messages are all there is to go by.
 */
const DRIVER_UNAVAILABLE_MESSAGES = [
  /^Connection terminated/, // unexpectedly | due to connection timeout | (while ending)
  /^timeout expired$/, // connectionTimeoutMillis of a client
  /^timeout exceeded when trying to connect$/, // the pool's connectionTimeoutMillis
  /^Query read timeout$/, // query_timeout
  /^Client has encountered a connection error and is not queryable$/,
]

/**
 * Whether an error means "the database cannot be reached or cannot serve us right now" (HTTP 503, retried
 * at start-up) rather than a bug (HTTP 500, thrown at once).
 */
export function isUnavailable(error: unknown): boolean {
  if (error instanceof DatabaseUnavailableError) return true
  if (error instanceof pg.DatabaseError) {
    return UNAVAILABLE_CLASSES.has((error.code ?? '').slice(0, 2)) || UNAVAILABLE_CODES.has(error.code ?? '')
  }
  if (!(error instanceof Error)) return false
  const code = (error as {code?: unknown}).code
  if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return true
  // Node's connect() to several addresses of one host name fails with an AggregateError of each attempt.
  if (error instanceof AggregateError && error.errors.length > 0 && error.errors.every(isUnavailable)) return true
  return DRIVER_UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(error.message))
}

/** What made the database unavailable, in a few words (for /healthz and the container's health log). */
export function unavailableReason(error: unknown): string {
  const cause = error instanceof DatabaseUnavailableError && error.cause !== undefined ? error.cause : error
  if (!(cause instanceof Error)) return String(cause)
  const code = (cause as {code?: unknown}).code
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused'
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
      return 'connection reset'
    case 'ETIMEDOUT':
      return 'connection timed out'
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable'
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found'
    case '28P01':
    case '28000':
      return `authentication failed (${code})`
    case '3D000':
      return 'database does not exist (3D000)'
    case '57P03':
      return 'the server is starting up (57P03)'
  }
  if (cause instanceof AggregateError && cause.errors.length > 0) return unavailableReason(cause.errors[0])
  return typeof code === 'string' ? `${cause.message} (${code})` : cause.message
}

export interface Visit {
  id: number
  visitedAt: Date
}

export interface RecordedVisit {
  visit: Visit
  total: number
}

export interface VisitPage {
  visits: Visit[]
  /** Pass as `before` to get the next page; null on the last page. */
  nextBefore: number | null
}

/** What the HTTP layer needs from storage; tests hand in a stub. */
export interface VisitStore {
  recordVisit(): Promise<RecordedVisit>
  listVisits(query: VisitsQuery): Promise<VisitPage>
  ping(): Promise<void>
}

function createPool(config: DbConfig): pg.Pool {
  const {passwordFile: _file, ...connection} = config
  return new pg.Pool({
    ...connection,
    password: passwordSource(config, (file) => readFile(file, 'utf8')),
    max: POOL_SIZE,
    min: POOL_MIN,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: IDLE_TIMEOUT_MS,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
    idle_in_transaction_session_timeout: 10_000,
    keepAlive: true,
    application_name: 'stackctl-api',
  })
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new DatabaseUnavailableError(`${what} timed out after ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

interface BatchRow {
  ids: string
  visited_at: Date
  total: string
}

/** The i-th id of a batch (ascending) gets the i-th of the batch's totals, which end at the new total. */
export function batchVisits(row: BatchRow, count: number): RecordedVisit[] {
  const ids = row.ids.split(',').map(Number)
  if (ids.length !== count) throw new Error(`a batch of ${count} visits inserted ${ids.length} rows`)
  const first = Number(row.total) - count + 1
  return ids.map((id, i) => ({visit: {id, visitedAt: row.visited_at}, total: first + i}))
}

interface VisitRow {
  id: string
  visited_at: Date
}

function toVisit(row: VisitRow): Visit {
  return {id: Number(row.id), visitedAt: row.visited_at}
}

/** What the store needs of a pg.Pool (a stub in unit tests). */
export type QueryPool = Pick<pg.Pool, 'query' | 'connect' | 'on' | 'end'>

/** The VisitStore on a pg pool of its own. */
export class PgVisitStore implements VisitStore {
  private readonly pool: QueryPool
  private available = true
  private readonly batcher = new Batcher<RecordedVisit>((count) => this.writeBatch(count), BATCH_LIMITS)

  constructor(
    config: DbConfig,
    private readonly logger: Logger,
    pool: QueryPool = createPool(config),
  ) {
    this.pool = pool
    // A database restart breaks every idle connection, each emitting 'error'; unhandled, that would end the
    // process. One log line per outage is enough.
    this.pool.on('error', (error) => this.markUnavailable(error))
  }

  /**
   * Waits until the database answers and the schema is in place, retrying with backoff as long as the
   * errors mean "not reachable yet" (the database may still be starting). Other errors are thrown.
   */
  async prepare(options: {signal?: AbortSignal; backoff?: BackoffOptions} = {}): Promise<void> {
    await retry(() => this.pool.query(SCHEMA_SQL), {
      retryable: isUnavailable,
      onRetry: (error, attempt, delayMs) =>
        this.logger.error('database not ready, retrying', {attempt, delayMs, ...errorFields(error)}),
      signal: options.signal,
      backoff: options.backoff,
    })
  }

  recordVisit(): Promise<RecordedVisit> {
    return this.batcher.add()
  }

  /** One batch: one connection, one statement, one commit. */
  private async writeBatch(count: number): Promise<RecordedVisit[]> {
    const {rows} = await this.run(async () => {
      const client = await this.pool.connect()
      // A checked-out client has no 'error' listener of the pool's. When the server ends the connection while
      // no statement is active on it (a restart, or a restore's pg_terminate_backend arriving right after the
      // batch's reply), pg emits 'error' on the client; unheard, that ends the whole process.
      let broken: Error | undefined
      const onError = (error: Error) => {
        broken = error
        this.markUnavailable(error)
      }
      client.on('error', onError)
      try {
        return await client.query<BatchRow>({name: 'record-visits', text: RECORD_VISITS_SQL, values: [count]})
      } catch (error) {
        // A connection that broke or timed out mid-statement is not handed out again.
        if (broken === undefined && isUnavailable(error)) broken = error as Error
        throw error
      } finally {
        client.removeListener('error', onError)
        client.release(broken)
      }
    })
    if (rows.length !== 1) throw new Error(`recording visits returned ${rows.length} rows`)
    return batchVisits(rows[0], count)
  }

  async listVisits(query: VisitsQuery): Promise<VisitPage> {
    // One row more than asked tells whether there is a next page.
    const values = query.before === undefined ? [query.limit + 1] : [query.limit + 1, query.before]
    const text = query.before === undefined ? LIST_VISITS_SQL : LIST_VISITS_BEFORE_SQL
    const {rows} = await this.run(() => this.pool.query<VisitRow>(text, values))
    const visits = rows.slice(0, query.limit).map(toVisit)
    return {visits, nextBefore: rows.length > query.limit ? visits[visits.length - 1].id : null}
  }

  async ping(): Promise<void> {
    await this.run(() => withTimeout(this.pool.query('SELECT 1'), PING_TIMEOUT_MS, 'database ping'))
  }

  close(): Promise<void> {
    return this.pool.end()
  }

  /** Runs a query; logs when the database becomes unavailable and when it is back, not once per request. */
  private async run<T>(query: () => Promise<T>): Promise<T> {
    try {
      const result = await query()
      if (!this.available) {
        this.available = true
        this.logger.info('database available again')
      }
      return result
    } catch (error) {
      if (!isUnavailable(error)) throw error
      this.markUnavailable(error)
      throw error instanceof DatabaseUnavailableError
        ? error
        : new DatabaseUnavailableError('database unavailable', {cause: error})
    }
  }

  private markUnavailable(error: unknown): void {
    if (!this.available) return
    this.available = false
    this.logger.error('database unavailable', errorFields(error))
  }
}
