/** What the visit-tracker's database holds, asked of the running db container. */
import type {Engine} from '../../engine/engine.js'
import {runningService} from '../../engine/services.js'
import {Psql} from './psql.js'

/** Visits in the stack's database; undefined when its db is not running (or cannot answer). */
export async function countVisits(engine: Engine, project: string): Promise<number | undefined> {
  const db = await runningService(engine, project, 'db')
  if (!db) return undefined
  const answer = await new Psql(engine, db.id).tryQuery(
    "SELECT CASE WHEN to_regclass('public.visits') IS NULL THEN 0 ELSE (SELECT count(*) FROM visits) END",
  )
  const count = Number(answer)
  return answer !== undefined && Number.isInteger(count) ? count : undefined
}

/**
 * The API's own total (its one-row counter), cheap at any size where count(*) reads the whole table: for
 * summaries. undefined when the db is not running or the API has not created its tables yet.
 */
export async function countedVisits(engine: Engine, project: string): Promise<number | undefined> {
  const db = await runningService(engine, project, 'db')
  if (!db) return undefined
  const answer = await new Psql(engine, db.id).tryQuery(
    "SELECT CASE WHEN to_regclass('public.visit_counter') IS NULL THEN NULL ELSE (SELECT coalesce(sum(n), 0) FROM visit_counter) END",
  )
  const count = Number(answer)
  return answer !== undefined && answer !== '' && Number.isInteger(count) ? count : undefined
}
