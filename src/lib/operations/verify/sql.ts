/**
 * What the check asks PostgreSQL, through psql inside the db container (whether or not up --db-port published
 * the database port). Query builders and parsers are pure; only runSql touches the engine.
 */
import type {Psql} from '../db/psql.js'
import {StackctlError} from '../../errors.js'

/** The visits table as the database reports it; checksum covers whole rows, in id order. */
export interface Snapshot {
  total: number
  maxId: number
  checksum: string
}

/**
 * Count, highest id and an md5 over every row's text (all columns), optionally only up to `upToId`: the rows
 * that existed before teardown are compared by this checksum afterwards.
 */
export function snapshotQuery(upToId?: number): string {
  const where = upToId === undefined ? '' : ` WHERE v.id <= ${integer(upToId)}`
  return (
    "SELECT count(*) || '|' || coalesce(max(v.id), 0) || '|' || " +
    `md5(coalesce(string_agg(v::text, ',' ORDER BY v.id), '')) FROM visits AS v${where}`
  )
}

export function parseSnapshot(output: string): Snapshot {
  const match = /^(\d+)\|(\d+)\|([0-9a-f]{32})$/.exec(output.trim())
  if (!match) throw new StackctlError(`unexpected snapshot from the database: '${output.trim()}'`)
  return {total: Number(match[1]), maxId: Number(match[2]), checksum: match[3]}
}

export async function takeSnapshot(psql: Psql, upToId?: number): Promise<Snapshot> {
  return parseSnapshot(await psql.query(snapshotQuery(upToId)))
}

/** Sorted, de-duplicated ids as inclusive ranges: acknowledged ids are mostly consecutive, so queries stay short. */
export function idRanges(ids: readonly number[]): Array<[number, number]> {
  const sorted = [...new Set(ids)].sort((a, b) => a - b)
  const ranges: Array<[number, number]> = []
  for (const id of sorted) {
    const last = ranges.at(-1)
    if (last && id === last[1] + 1) last[1] = id
    else ranges.push([id, id])
  }
  return ranges
}

/** Ranges per query: keeps each psql argument far below the kernel's 128 KiB limit for one argument. */
export const RANGES_PER_QUERY = 2000

export function missingIdsQuery(ranges: ReadonlyArray<readonly [number, number]>): string {
  const values = ranges.map(([lo, hi]) => `(${integer(lo)}::bigint, ${integer(hi)}::bigint)`).join(', ')
  return (
    `SELECT i FROM (VALUES ${values}) AS r(lo, hi), generate_series(r.lo, r.hi) AS i ` +
    'WHERE NOT EXISTS (SELECT 1 FROM visits AS v WHERE v.id = i) ORDER BY i'
  )
}

export function parseIds(output: string): number[] {
  return output
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const id = Number(line)
      if (!Number.isSafeInteger(id)) throw new StackctlError(`unexpected id from the database: '${line}'`)
      return id
    })
}

/** The acknowledged ids that the database does not have, ascending. */
export async function findMissingIds(psql: Psql, ids: readonly number[]): Promise<number[]> {
  const ranges = idRanges(ids)
  const missing: number[] = []
  for (let start = 0; start < ranges.length; start += RANGES_PER_QUERY) {
    const chunk = ranges.slice(start, start + RANGES_PER_QUERY)
    missing.push(...parseIds(await psql.query(missingIdsQuery(chunk))))
  }
  return missing
}

/** Set once by initdb: a different one means the data directory was initialised anew. */
export async function systemIdentifier(psql: Psql): Promise<string> {
  const id = await psql.query('SELECT system_identifier FROM pg_control_system()')
  if (!/^\d+$/.test(id)) throw new StackctlError(`unexpected system identifier from the database: '${id}'`)
  return id
}

export interface ServerSettings {
  fsync: string
  synchronousCommit: string
  fullPageWrites: string
  dataDirectory: string
}

export const SETTINGS_QUERY =
  "SELECT current_setting('fsync') || '|' || current_setting('synchronous_commit') || '|' || " +
  "current_setting('full_page_writes') || '|' || current_setting('data_directory')"

export function parseSettings(output: string): ServerSettings {
  const [fsync, synchronousCommit, fullPageWrites, ...rest] = output.trim().split('|')
  const dataDirectory = rest.join('|')
  if (!fsync || !synchronousCommit || !fullPageWrites || !dataDirectory) {
    throw new StackctlError(`unexpected settings from the database: '${output.trim()}'`)
  }
  return {fsync, synchronousCommit, fullPageWrites, dataDirectory}
}

export async function readServerSettings(psql: Psql): Promise<ServerSettings> {
  return parseSettings(await psql.query(SETTINGS_QUERY))
}

/** Numbers are interpolated into SQL only after this check, so no value can carry anything else. */
function integer(value: number): string {
  if (!Number.isSafeInteger(value)) throw new TypeError(`not an integer: ${value}`)
  return String(value)
}
