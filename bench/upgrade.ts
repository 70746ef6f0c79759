/**
 * `stackctl db upgrade` at the scale step's size, on a stack of its own: PostgreSQL 15 with ROWS visits (grown
 * with the scale step's SQL, the counter exact), upgraded to 17 as a user runs it (wall time from spawn to
 * exit, the CLI's start included), with the time of each step as the command reports it. Exact means the
 * upgrade verified every visit and the API's next visit was ROWS + 1, then ROWS + 2 through the real stack.
 */
import {Psql} from '../src/lib/operations/db/psql.js'
import type {Engine} from '../src/lib/engine/engine.js'
import {runningService} from '../src/lib/engine/services.js'
import {runCli, runProcess} from './proc.js'
import type {UpgradeBenchResult} from './results.js'
import {growSql} from './scale.js'
import {createStack, removeStack} from './stack.js'
import {round} from './stats.js'

export const UPGRADE_FROM = 15
export const UPGRADE_TO = 17

export async function measureUpgrade(
  engine: Engine,
  rows: number,
  log: (message: string) => void,
): Promise<UpgradeBenchResult> {
  const stack = await createStack()
  try {
    log(`upgrade: stack ${stack.project} on PostgreSQL ${UPGRADE_FROM}, growing it to ${rows} visits`)
    await runCli(['up', ...stack.cliArgs, '--port', String(stack.port), '--pg-major', String(UPGRADE_FROM)], stack.env)
    const db = await runningService(engine, stack.project, 'db')
    if (!db) throw new Error(`no running db container in project ${stack.project}`)
    await new Psql(engine, db.id).query(growSql(rows))
    log(`upgrade: stackctl db upgrade --to ${UPGRADE_TO}`)
    const upgrade = await runCli(['db', 'upgrade', '--to', String(UPGRADE_TO), '--json', ...stack.cliArgs], stack.env)
    const result = JSON.parse(upgrade.stdout) as {visits: number; nextVisit: number; steps: Record<string, number>}
    const next = (await (await fetch(`${stack.url}/`)).json()) as {visits: number}
    return {
      visits: rows,
      from: UPGRADE_FROM,
      to: UPGRADE_TO,
      upgradeMs: round(upgrade.ms, 0),
      steps: Object.fromEntries(
        Object.entries(result.steps).flatMap(([step, seconds]) =>
          seconds === null ? [] : [[step, round(seconds, 1)]],
        ),
      ),
      exact: result.visits === rows && result.nextVisit === rows + 1 && next.visits === rows + 2,
    }
  } finally {
    const problems = await removeStack(engine, stack)
    // The volume the upgrade made is the active one (removed by down); the original one is kept as superseded.
    await runProcess('docker', ['volume', 'rm', '--force', `${stack.project}_postgres_data_pg${UPGRADE_TO}`], {
      check: false,
    })
    for (const problem of problems) log(`upgrade cleanup: ${problem}`)
  }
}
