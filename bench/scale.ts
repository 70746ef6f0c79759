/**
 * Does `GET /` stay as fast with a big visits table? Latency on a freshly emptied table, then the same load
 * after growing the table to ROWS rows with one INSERT … SELECT generate_series inside the db container.
 * The counter shards are bumped in the same transaction, so the API's total stays exact.
 */

import {COUNTER_SHARDS} from '../src/api/db.js'
import {loadApi, warmUp} from './api-load.js'
import type {CpuTargets} from './cpu.js'
import type {Psql} from '../src/lib/operations/db/psql.js'
import type {ScaleResult} from './results.js'
import {round} from './stats.js'

const WARM_UP_SECONDS = 2
const CONNECTIONS = 32

/** Empty table and counter, in one transaction; VACUUM and CHECKPOINT so both measurements start settled. */
async function emptyTable(psql: Psql): Promise<void> {
  await psql.query('TRUNCATE visits RESTART IDENTITY; UPDATE visit_counter SET n = 0')
  await settle(psql)
}

async function settle(psql: Psql): Promise<void> {
  await psql.query('VACUUM ANALYZE visits')
  await psql.query('VACUUM ANALYZE visit_counter')
  await psql.query('CHECKPOINT')
}

/** The SQL that adds `count` visits and spreads exactly `count` over the counter shards. */
export function growSql(count: number, shards = COUNTER_SHARDS): string {
  const each = Math.floor(count / shards)
  const rest = count % shards
  return [
    `INSERT INTO visits (visited_at) SELECT now() - g * interval '1 second' FROM generate_series(1, ${count}) AS g`,
    `UPDATE visit_counter SET n = n + ${each} + CASE WHEN shard < ${rest} THEN 1 ELSE 0 END`,
  ].join('; ')
}

/** Rows in visits and what the counter says, in one statement. */
export async function counts(psql: Psql): Promise<{rows: number; counted: number}> {
  const [rows, counted] = (
    await psql.query('SELECT (SELECT count(*) FROM visits), (SELECT coalesce(sum(n), 0) FROM visit_counter)')
  )
    .split('|')
    .map(Number)
  return {rows, counted}
}

async function visitTotal(url: string): Promise<number> {
  const response = await fetch(`${url}/`, {signal: AbortSignal.timeout(10_000)})
  if (response.status !== 200) throw new Error(`GET / answered ${response.status}`)
  return ((await response.json()) as {visits: number}).visits
}

export async function measureScale(
  psql: Psql,
  url: string,
  options: {rows: number; seconds: number; cpuTargets?: CpuTargets},
): Promise<ScaleResult> {
  await emptyTable(psql)
  await warmUp(url, CONNECTIONS, WARM_UP_SECONDS)
  const empty = await loadApi(url, CONNECTIONS, options.seconds, options.cpuTargets)

  const started = Date.now()
  const before = await counts(psql)
  const missing = options.rows - before.rows
  // psql -c runs both statements as one transaction: the rows and their count appear together.
  if (missing > 0) await psql.query(growSql(missing))
  await settle(psql)
  const growSeconds = round((Date.now() - started) / 1000, 1)

  const grown = await counts(psql)
  const total = await visitTotal(url)
  const counterExact = grown.rows === grown.counted && total === grown.rows + 1

  await warmUp(url, CONNECTIONS, WARM_UP_SECONDS)
  return {
    rows: grown.rows,
    counterExact,
    growSeconds,
    empty,
    grown: await loadApi(url, CONNECTIONS, options.seconds, options.cpuTargets),
  }
}
