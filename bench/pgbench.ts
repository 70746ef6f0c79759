/**
 * The database's own limit for the API's per-visit SQL: pgbench inside the db container, over TCP to
 * 127.0.0.1 with the stack's password (read there from the Compose secret), prepared statements, no vacuum.
 * The script is RECORD_VISIT_SQL itself, imported from the API's sources.
 */
import {loadavg} from 'node:os'

import {RECORD_VISIT_SQL} from '../src/api/db.js'
import {DB_NAME, DB_USER} from '../src/lib/model/config/stack-config.js'
import {Psql} from '../src/lib/operations/db/psql.js'
import type {Engine} from '../src/lib/engine/engine.js'
import {withCpuShares, type CpuTargets} from './cpu.js'
import type {PgbenchResult} from './results.js'

const SCRIPT_FILE = '/tmp/stackctl-bench-visit.sql'
/** Room left for the API's pool and health checks while pgbench holds its connections. */
const CONNECTION_MARGIN = 2

/** The command inside the container; the SQL arrives as an environment value, the password from the secret. */
function pgbenchShell(clients: number, seconds: number): string {
  const args = ['-h', '127.0.0.1', '-U', DB_USER, '-n', '-c', clients, '-j', 2, '-T', seconds, '-M', 'prepared']
  return [
    `printf '%s;\\n' "$BENCH_SQL" > ${SCRIPT_FILE}`,
    `PGPASSWORD="$(cat /run/secrets/db_password)" exec pgbench ${args.join(' ')} -f ${SCRIPT_FILE} ${DB_NAME}`,
  ].join(' && ')
}

export function parsePgbench(output: string): Pick<PgbenchResult, 'tps' | 'latencyAvgMs' | 'transactions' | 'failed'> {
  const number = (pattern: RegExp) => {
    const match = pattern.exec(output)
    if (!match) throw new Error(`pgbench output without ${pattern.source}:\n${output}`)
    return Number(match[1])
  }
  // Older pgbench versions have no failed-transactions line: none failed there without an error exit.
  const failed = /^number of failed transactions: (\d+)/m.exec(output)
  return {
    tps: number(/^tps = ([\d.]+)/m),
    latencyAvgMs: number(/^latency average = ([\d.]+) ms/m),
    transactions: number(/^number of transactions actually processed: (\d+)/m),
    failed: failed ? Number(failed[1]) : 0,
  }
}

/**
 * Clients that fit next to the connections already open: 128 needs max_connections above 100 (the default),
 * so the largest of 96 or a multiple of 8 that fits is used instead, and the result says so.
 */
export async function clientsThatFit(engine: Engine, db: string, requested: number) {
  const [max, used] = (
    await new Psql(engine, db).query(
      "SELECT current_setting('max_connections'), count(*) - 1 FROM pg_stat_activity WHERE backend_type = 'client backend'",
    )
  )
    .split('|')
    .map(Number)
  const free = max - used - CONNECTION_MARGIN
  if (requested <= free) return {clients: requested}
  const clients = free >= 96 ? 96 : Math.max(8, Math.floor(free / 8) * 8)
  return {clients, note: `${requested} clients exceed max_connections=${max} (${used} in use): measured ${clients}`}
}

export async function runPgbench(
  engine: Engine,
  db: string,
  requestedClients: number,
  seconds: number,
  cpuTargets: CpuTargets = {},
  sql: string = RECORD_VISIT_SQL,
): Promise<PgbenchResult> {
  const {clients, note} = await clientsThatFit(engine, db, requestedClients)
  const loadBefore = loadavg()[0]
  const command = ['sh', '-c', pgbenchShell(clients, seconds)]
  const [output, cpu] = await withCpuShares(cpuTargets, async () => {
    const result = await engine.containers.exec(db, command, {env: [`BENCH_SQL=${sql}`]})
    if (result.exitCode !== 0) throw new Error(`pgbench in the db container failed: ${result.stderr.trim()}`)
    return result
  })
  const measured = parsePgbench(output.stdout)
  return {requestedClients, clients, seconds, ...measured, loadBefore, cpu, ...(note ? {note} : {})}
}
