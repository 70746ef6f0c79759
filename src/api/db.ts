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

/** The counter is split over this many rows so that concurrent visits rarely wait for each other's lock. */
export const COUNTER_SHARDS = 16

/** Two instances starting together must not both create the tables or seed the counter. */
const SCHEMA_LOCK_KEY = 7_402_117_355

/**
 * Idempotent, in one transaction (a DO block) under a transaction-level advisory lock. When the counter is
 * first created next to an existing visits table, it starts from count(*) once; the table is locked against
 * inserts meanwhile so no visit falls between the count and the counter. Missing shards are added at 0.
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
  INSERT INTO visit_counter (shard, n)
  SELECT s, 0 FROM generate_series(0, ${COUNTER_SHARDS - 1}) AS s
  ON CONFLICT (shard) DO NOTHING;
END
$$`

/**
 * One visit in one statement and one round trip: insert the visit, add 1 to one random shard and return the
 * new total. Exact under READ COMMITTED because:
 * - the upsert's DO UPDATE always applies `n + 1` to the newest committed version of the shard row (it waits
 *   for a concurrent writer of that row, then re-reads it), so no increment is ever lost, and the visit row
 *   and its increment commit together, so sum(n) = count(*) at every commit;
 * - all parts of a WITH statement read one snapshot and do not see each other's writes, so a plain
 *   `SELECT sum(n) FROM visit_counter` here would miss this very visit. The total is therefore the updated
 *   shard as RETURNING reports it (this visit included) plus the other shards from the snapshot;
 * - random() is evaluated once (a one-row SELECT), never per row of the counter as it would be in a WHERE
 *   clause, so exactly one shard is incremented; a missing shard row is created instead of skipped.
 * So the total is at least (visits committed before the statement started) + 1 and at most the number of
 * visits committed once this one commits: a request that starts after another finished always reports more.
 * Two visits running at the same moment on different shards may report the same total; once they have
 * finished, the next visit reports the exact total.
 */
export const RECORD_VISIT_SQL = `WITH visit AS (
  INSERT INTO visits DEFAULT VALUES
  RETURNING id, visited_at
), bumped AS (
  INSERT INTO visit_counter AS c (shard, n)
  SELECT floor(random() * ${COUNTER_SHARDS})::smallint, 1
  ON CONFLICT (shard) DO UPDATE SET n = c.n + 1
  RETURNING c.shard, c.n
)
SELECT visit.id, visit.visited_at,
  (bumped.n + (SELECT coalesce(sum(o.n), 0) FROM visit_counter AS o WHERE o.shard <> bumped.shard))::bigint AS total
FROM visit CROSS JOIN bumped`

export const LIST_VISITS_SQL = 'SELECT id, visited_at FROM visits ORDER BY id DESC LIMIT $1'
export const LIST_VISITS_BEFORE_SQL = 'SELECT id, visited_at FROM visits WHERE id < $2 ORDER BY id DESC LIMIT $1'

export const POOL_SIZE = 20
const CONNECT_TIMEOUT_MS = 3000
/** Server-side limit; the client-side one is a little longer so the server's clearer error usually wins. */
const STATEMENT_TIMEOUT_MS = 5000
const QUERY_TIMEOUT_MS = 6000
export const PING_TIMEOUT_MS = 2000

export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError'
}

/**
 * SQLSTATE classes that mean the server cannot serve us now: 08 connection exception, 28 invalid
 * authorization, 3D invalid catalog name, 53 insufficient resources, 57 operator intervention (shutdown,
 * starting up, statement timeout).
 */
const UNAVAILABLE_CLASSES = new Set(['08', '28', '3D', '53', '57'])

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
  if (error instanceof pg.DatabaseError) return UNAVAILABLE_CLASSES.has((error.code ?? '').slice(0, 2))
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
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
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

interface VisitRow {
  id: string
  visited_at: Date
}

function toVisit(row: VisitRow): Visit {
  return {id: Number(row.id), visitedAt: row.visited_at}
}

/** What the store needs of a pg.Pool (a stub in unit tests). */
export type QueryPool = Pick<pg.Pool, 'query' | 'on' | 'end'>

/** The VisitStore on a pg pool of its own. */
export class PgVisitStore implements VisitStore {
  private readonly pool: QueryPool
  private available = true

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

  async recordVisit(): Promise<RecordedVisit> {
    const {rows} = await this.run(() =>
      this.pool.query<VisitRow & {total: string}>({name: 'record-visit', text: RECORD_VISIT_SQL}),
    )
    if (rows.length !== 1) throw new Error(`recording a visit returned ${rows.length} rows`)
    return {visit: toVisit(rows[0]), total: Number(rows[0].total)}
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
