/**
 * The database's limit for the cheapest durable write of a visit: pgbench's plain single-row INSERT, one
 * commit (one WAL flush) per row, on a scratch table shaped like `visits` (identity primary key, timestamptz
 * defaulting to now()) that it creates and drops. The API writes visits in batches, so it can beat this
 * reference; the same-SQL reference (RECORD_VISIT_SQL, a batch of one) stays next to it.
 */
import {Psql} from '../src/lib/operations/db/psql.js'
import type {Engine} from '../src/lib/engine/engine.js'
import type {CpuTargets} from './cpu.js'
import {runPgbench} from './pgbench.js'
import type {PgbenchResult} from './results.js'

export const PLAIN_TABLE = 'stackctl_bench_plain'
export const PLAIN_INSERT_SQL = `INSERT INTO ${PLAIN_TABLE} DEFAULT VALUES`
const CREATE_SQL = `CREATE TABLE ${PLAIN_TABLE} (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  visited_at timestamptz NOT NULL DEFAULT now()
)`

export async function runPlainInsertPgbench(
  engine: Engine,
  db: string,
  clients: number,
  seconds: number,
  cpuTargets: CpuTargets = {},
): Promise<PgbenchResult> {
  const psql = new Psql(engine, db)
  await psql.query(`DROP TABLE IF EXISTS ${PLAIN_TABLE}`)
  await psql.query(CREATE_SQL)
  try {
    await psql.query('CHECKPOINT')
    return await runPgbench(engine, db, clients, seconds, cpuTargets, PLAIN_INSERT_SQL)
  } finally {
    await psql.query(`DROP TABLE IF EXISTS ${PLAIN_TABLE}`)
  }
}
