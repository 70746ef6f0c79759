/**
 * The gate between a restored copy and the live data: the copy must be a visit-tracker database the API can
 * serve from at once (it runs no schema step after a swap), and hold what its record promised. What can be
 * derived from the rows (the counter, the identity's position) is repaired inside the copy and reported;
 * anything else refuses the restore.
 */
import {StackctlError} from '../../errors.js'
import type {Psql} from './database.js'
import {type BackupRecord, countIsExact} from './record.js'
import {
  advanceSequenceSql,
  counterProblem,
  dataStateSql,
  judgeSchema,
  parseDataState,
  parseSchemaReport,
  rebuildCounterSql,
  SCHEMA_REPORT_SQL,
  sequenceBehind,
} from './schema.js'
import {plural} from '../../cli/ui/plural.js'

export interface RestoredCheck {
  visits: number
  /** reason: why the counter was rebuilt; null when it was kept. */
  counter: {rebuilt: boolean; reason: string | null}
  /** What was changed in the restored copy before the swap, in words. */
  repairs: string[]
}

const UNCHANGED = 'the current data was not changed'

export async function checkRestored(
  psql: Psql,
  database: string,
  file: string,
  record: BackupRecord | undefined,
  warn: (line: string) => void,
): Promise<RestoredCheck> {
  const verdict = judgeSchema(parseSchemaReport(await psql.query(SCHEMA_REPORT_SQL, database)))
  if (verdict.problems.length > 0) {
    throw new StackctlError(`${file} is not a visit-tracker backup: ${verdict.problems.join('; ')}`, {
      suggestion: `restore a backup made by stackctl volume backup; ${UNCHANGED}`,
    })
  }
  const state = parseDataState(await psql.query(dataStateSql(!verdict.counterMissing), database))
  if (record?.visits !== null && record?.visits !== undefined && record.visits !== state.visits) {
    if (countIsExact(record)) {
      throw new StackctlError(`${file} holds ${plural(state.visits, 'visit')}, but its record says ${record.visits}`, {
        suggestion: `the dump or its record was changed or mixed up with another backup's; ${UNCHANGED}`,
      })
    }
    warn(
      `restore: the backup holds ${plural(state.visits, 'visit')}; its older-format record counted ${record.visits} just before the dump`,
    )
  }

  const repairs: string[] = []
  const problem = counterProblem(state)
  if (problem) {
    await psql.query(rebuildCounterSql(!verdict.counterMissing), database)
    repairs.push(`rebuilt visit_counter from count(*) = ${state.visits} (${problem})`)
  }
  if (sequenceBehind(state)) {
    await psql.query(advanceSequenceSql(state), database)
    repairs.push(`moved the id sequence past the highest id ${state.maxId} (it was behind)`)
  }
  return {visits: state.visits, counter: {rebuilt: Boolean(problem), reason: problem ?? null}, repairs}
}
