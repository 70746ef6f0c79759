/**
 * A ledger of everything a database holds, to prove a copy right: every user table's row count and a checksum
 * of its rows, and every sequence's position. One query, answered the same by any PostgreSQL major from 10 on.
 * The checksum does not depend on row order or collation: it is an md5 over the sorted md5s of the rows' text.
 * Query and parsers are pure; `readLedger` asks through psql.
 */
import {StackctlError} from '../../errors.js'
import type {Psql} from './psql.js'

export interface TableEntry {
  /** Schema-qualified and quoted as format('%I.%I') spells it. */
  name: string
  rows: number
  checksum: string
}

export interface Ledger {
  tables: TableEntry[]
  /** Sequence → its last value ('' when it was never used): the next id continues from here. */
  sequences: Record<string, string>
}

const USER_RELATIONS = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'`

/**
 * query_to_xml runs one count-and-checksum per table inside a single SELECT, so the whole ledger is one
 * statement (and, for the old server, one snapshot).
 */
export const LEDGER_SQL = `SELECT 'table|' || format('%I.%I', n.nspname, c.relname) || '|' ||
  (xpath('/row/c/text()', x))[1]::text || '|' || (xpath('/row/h/text()', x))[1]::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
  LATERAL query_to_xml(format(
    'SELECT count(*) AS c, md5(coalesce(string_agg(h, '''' ORDER BY h), '''')) AS h FROM (SELECT md5(t::text) AS h FROM ONLY %I.%I AS t) AS s',
    n.nspname, c.relname), false, true, '') AS x
WHERE c.relkind = 'r' AND ${USER_RELATIONS}
UNION ALL
SELECT 'sequence|' || format('%I.%I', schemaname, sequencename) || '|' || coalesce(last_value::text, '')
FROM pg_sequences WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1`

export function parseLedger(output: string): Ledger {
  const ledger: Ledger = {tables: [], sequences: {}}
  for (const line of output.split('\n').filter((l) => l.trim() !== '')) {
    const [kind, ...rest] = line.split('|')
    if (kind === 'table' && rest.length >= 3) {
      const checksum = rest.pop()!
      const rows = Number(rest.pop())
      if (!/^[0-9a-f]{32}$/.test(checksum) || !Number.isSafeInteger(rows)) throw unexpected(line)
      ledger.tables.push({name: rest.join('|'), rows, checksum})
    } else if (kind === 'sequence' && rest.length >= 2) {
      const value = rest.pop()!
      ledger.sequences[rest.join('|')] = value
    } else {
      throw unexpected(line)
    }
  }
  return ledger
}

function unexpected(line: string): StackctlError {
  return new StackctlError(`unexpected ledger line from the database: '${line}'`)
}

export async function readLedger(psql: Psql): Promise<Ledger> {
  return parseLedger(await psql.query(LEDGER_SQL.replace(/\n/g, ' ')))
}

/** Every difference between two ledgers, one line each; empty when the copy holds exactly the same. */
export function compareLedgers(before: Ledger, after: Ledger): string[] {
  const differences: string[] = []
  const afterTables = new Map(after.tables.map((t) => [t.name, t]))
  for (const table of before.tables) {
    const copy = afterTables.get(table.name)
    if (!copy) differences.push(`table ${table.name} is missing`)
    else if (copy.rows !== table.rows)
      differences.push(`table ${table.name}: ${copy.rows} rows instead of ${table.rows}`)
    else if (copy.checksum !== table.checksum)
      differences.push(`table ${table.name}: same ${table.rows} rows, other content`)
    afterTables.delete(table.name)
  }
  for (const name of afterTables.keys()) differences.push(`table ${name} is new`)
  for (const [name, value] of Object.entries(before.sequences)) {
    if (!(name in after.sequences)) differences.push(`sequence ${name} is missing`)
    else if (after.sequences[name] !== value) {
      differences.push(
        `sequence ${name} is at ${after.sequences[name] || 'its start'} instead of ${value || 'its start'}`,
      )
    }
  }
  return differences
}

/** Rows over all tables: for messages. */
export function totalRows(ledger: Ledger): number {
  return ledger.tables.reduce((sum, table) => sum + table.rows, 0)
}
