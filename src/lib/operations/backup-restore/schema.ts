/**
 * What a visit-tracker database looks like, and how a restored one is judged before it replaces the live data:
 * the SQL that reports what a database holds, and pure functions that compare it with what the API needs.
 * A database that passes can be swapped in and serves at once: the API runs no schema step after a swap.
 */

/** Schema 1: `visits(id bigint identity, visited_at timestamptz)` and `visit_counter(shard, n)`. */
export const SCHEMA_VERSION = 1
/**
 * The API's COUNTER_SHARDS (src/api/db.ts; a unit test keeps them equal): the counter is one row, shard 0.
 * Databases of earlier versions spread it over 16 rows; the table is the same, so they are schema 1 as well,
 * and a restore folds their rows into shard 0 as the API's own schema step does at start.
 */
export const COUNTER_SHARDS = 1

interface ExpectedColumn {
  name: string
  /** As format_type() spells it. */
  type: string
}

const EXPECTED: Record<'visits' | 'visit_counter', {columns: ExpectedColumn[]; primaryKey: string}> = {
  visits: {
    columns: [
      {name: 'id', type: 'bigint'},
      {name: 'visited_at', type: 'timestamp with time zone'},
    ],
    primaryKey: 'id',
  },
  visit_counter: {
    columns: [
      {name: 'shard', type: 'smallint'},
      {name: 'n', type: 'bigint'},
    ],
    primaryKey: 'shard',
  },
}

/** The counter table exactly as the API creates it (src/api/db.ts SCHEMA_SQL; a unit test compares them). */
export const COUNTER_TABLE_SQL =
  'CREATE TABLE visit_counter (shard smallint PRIMARY KEY, n bigint NOT NULL CHECK (n >= 0))'

/** One line of JSON: the public `visits` and `visit_counter` relations with their columns and primary keys. */
export const SCHEMA_REPORT_SQL = `SELECT coalesce(json_object_agg(c.relname, json_build_object(
  'kind', c.relkind::text,
  'columns', (SELECT coalesce(json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
      'identity', a.attidentity::text) ORDER BY a.attnum), '[]')
    FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
  'primaryKey', (SELECT coalesce(json_agg(a.attname ORDER BY a.attnum), '[]')
    FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
    WHERE i.indrelid = c.oid AND i.indisprimary)
))::text, '{}')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relname IN ('visits', 'visit_counter')`

export interface FoundColumn {
  name: string
  type: string
  /** pg_attribute.attidentity: 'a' (always), 'd' (by default) or '' (none). */
  identity: string
}

export interface FoundRelation {
  /** pg_class.relkind: 'r' for a table. */
  kind: string
  columns: FoundColumn[]
  primaryKey: string[]
}

export type SchemaReport = Partial<Record<'visits' | 'visit_counter', FoundRelation>>

export function parseSchemaReport(text: string): SchemaReport {
  const value = JSON.parse(text || '{}') as unknown
  if (value === null || typeof value !== 'object') throw new Error(`unexpected schema report: ${text}`)
  return value as SchemaReport
}

/** `timestamp with time zone` → `timestamptz`: the names people write. */
function shortType(type: string): string {
  return type === 'timestamp with time zone' ? 'timestamptz' : type
}

function describeColumns(columns: ReadonlyArray<{name: string; type: string}>): string {
  return columns.length === 0 ? 'no columns' : columns.map((c) => `${c.name} ${shortType(c.type)}`).join(', ')
}

function relationProblems(name: 'visits' | 'visit_counter', found: FoundRelation): string[] {
  const expected = EXPECTED[name]
  if (found.kind !== 'r') return [`${name} is not a plain table (relkind '${found.kind}')`]
  const matches =
    found.columns.length === expected.columns.length &&
    expected.columns.every((e) => found.columns.some((c) => c.name === e.name && c.type === e.type))
  if (!matches) {
    return [`${name} has columns ${describeColumns(found.columns)}; expected ${describeColumns(expected.columns)}`]
  }
  const problems: string[] = []
  if (found.primaryKey.length !== 1 || found.primaryKey[0] !== expected.primaryKey) {
    problems.push(`${name} has no primary key on ${expected.primaryKey}`)
  }
  if (name === 'visits' && !found.columns.find((c) => c.name === 'id')?.identity) {
    problems.push('visits.id is not an identity column, so new visits would get no id')
  }
  return problems
}

export interface SchemaVerdict {
  /** Why this is not a visit-tracker database; empty when it is one. */
  problems: string[]
  /** visits is right and visit_counter is absent: a counter can be built from count(*). */
  counterMissing: boolean
}

export function judgeSchema(report: SchemaReport): SchemaVerdict {
  if (!report.visits) {
    const others = report.visit_counter ? ' (only visit_counter)' : ''
    return {problems: [`it has no table visits${others}`], counterMissing: false}
  }
  const problems = relationProblems('visits', report.visits)
  if (report.visit_counter) problems.push(...relationProblems('visit_counter', report.visit_counter))
  return {problems, counterMissing: !report.visit_counter}
}

/** The schema version of a database that passes, null for anything else. */
export function schemaVersionOf(report: SchemaReport): number | null {
  const verdict = judgeSchema(report)
  return verdict.problems.length === 0 && !verdict.counterMissing ? SCHEMA_VERSION : null
}

/** One line of JSON with the counts of a database whose schema passed (the counter's only when it exists). */
export function dataStateSql(counterExists: boolean): string {
  const counter = counterExists
    ? `'counterSum', (SELECT coalesce(sum(n), 0) FROM visit_counter),
  'shards', (SELECT coalesce(json_agg(shard ORDER BY shard), '[]') FROM visit_counter),
  'negativeShards', (SELECT count(*) FROM visit_counter WHERE n < 0),`
    : ''
  return `SELECT json_build_object(
  'visits', (SELECT count(*) FROM visits),
  ${counter}
  'maxId', (SELECT max(id) FROM visits),
  'sequence', pg_get_serial_sequence('public.visits', 'id'),
  'sequenceLast', (SELECT s.last_value FROM pg_sequences s
    WHERE format('%I.%I', s.schemaname, s.sequencename) = pg_get_serial_sequence('public.visits', 'id')),
  'sequenceStart', (SELECT s.start_value FROM pg_sequences s
    WHERE format('%I.%I', s.schemaname, s.sequencename) = pg_get_serial_sequence('public.visits', 'id'))
)::text`
}

export interface DataState {
  visits: number
  counterSum?: number
  shards?: number[]
  negativeShards?: number
  maxId: number | null
  sequence: string | null
  /** The identity sequence's last value; null when it was never used. */
  sequenceLast: number | null
  sequenceStart: number | null
}

export function parseDataState(text: string): DataState {
  const raw = JSON.parse(text) as Record<string, unknown>
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v))
  return {
    visits: Number(raw.visits),
    ...(raw.counterSum === undefined
      ? {}
      : {
          counterSum: Number(raw.counterSum),
          shards: (raw.shards as unknown[]).map(Number),
          negativeShards: Number(raw.negativeShards),
        }),
    maxId: num(raw.maxId),
    sequence: typeof raw.sequence === 'string' ? raw.sequence : null,
    sequenceLast: num(raw.sequenceLast),
    sequenceStart: num(raw.sequenceStart),
  }
}

function shardList(shards: number[]): string {
  return shards.length > 4 ? `${shards.slice(0, 3).join(', ')}, … ${shards.at(-1)}` : shards.join(', ')
}

/**
 * Why the counter cannot be kept as it is, or undefined when it is exactly the API's: its shards, none
 * negative, adding up to count(*).
 */
export function counterProblem(state: DataState): string | undefined {
  if (state.shards === undefined || state.counterSum === undefined) return 'the backup has no visit_counter table'
  if ((state.negativeShards ?? 0) > 0) return 'visit_counter has negative shards'
  if (state.counterSum !== state.visits) {
    return `visit_counter adds up to ${state.counterSum}, but visits holds ${state.visits} rows`
  }
  const expected = Array.from({length: COUNTER_SHARDS}, (_, i) => i)
  const missing = expected.filter((s) => !state.shards!.includes(s))
  const extra = state.shards.filter((s) => s < 0 || s >= COUNTER_SHARDS)
  if (extra.length > 0 && missing.length === 0 && extra.every((s) => s > 0 && s < 16)) {
    return `visit_counter is spread over ${state.shards.length} shard rows (the layout of an earlier stackctl); folded into shard 0`
  }
  if (missing.length > 0 || extra.length > 0) {
    const parts = [
      ...(missing.length > 0 ? [`shard ${shardList(missing)} missing`] : []),
      ...(extra.length > 0 ? [`unexpected shards ${shardList(extra)}`] : []),
    ]
    return `visit_counter has ${parts.join(' and ')}`
  }
  return undefined
}

/**
 * Rebuilds the counter from count(*) in one statement string (psql -c runs it as one transaction): the
 * table as the API makes it, the whole count on shard 0 (and any further shards of the API's at 0).
 */
export function rebuildCounterSql(counterExists: boolean): string {
  return [
    counterExists ? 'DELETE FROM visit_counter' : COUNTER_TABLE_SQL,
    'INSERT INTO visit_counter (shard, n) SELECT s, CASE WHEN s = 0 THEN (SELECT count(*) FROM visits) ELSE 0 END ' +
      `FROM generate_series(0, ${COUNTER_SHARDS - 1}) AS s`,
  ].join('; ')
}

/** True when the next id the identity would hand out is already taken (new visits would fail). */
export function sequenceBehind(state: DataState): boolean {
  if (state.maxId === null || state.sequence === null) return false
  const next = state.sequenceLast === null ? (state.sequenceStart ?? 1) : state.sequenceLast + 1
  return next <= state.maxId
}

export function advanceSequenceSql(state: DataState): string {
  return `SELECT setval('${state.sequence!.replace(/'/g, "''")}', ${state.maxId})`
}
