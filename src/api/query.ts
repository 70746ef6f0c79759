/**
 * Parsing of the query string of GET /visits. Pure and strict: a value is either a plain decimal integer in
 * range or the request is refused, so `limit=1e3`, `limit=+5` or a repeated parameter never mean something
 * by accident.
 */
export const DEFAULT_LIMIT = 50
export const MAX_LIMIT = 1000

export interface VisitsQuery {
  limit: number
  /** Only visits with an id below this one (the `nextBefore` of the previous page). */
  before?: number
}

export type Parsed<T> = {ok: true; value: T} | {ok: false; error: string}

function parseInteger(params: URLSearchParams, name: string, min: number, max: number): Parsed<number | undefined> {
  const values = params.getAll(name)
  if (values.length === 0) return {ok: true, value: undefined}
  if (values.length > 1) return {ok: false, error: `${name} may be given only once`}
  const [text] = values
  const number = /^\d{1,16}$/.test(text) ? Number(text) : Number.NaN
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? 'a positive integer' : `an integer from ${min} to ${max}`
    return {ok: false, error: `${name} must be ${range}`}
  }
  return {ok: true, value: number}
}

export function parseVisitsQuery(params: URLSearchParams): Parsed<VisitsQuery> {
  const limit = parseInteger(params, 'limit', 1, MAX_LIMIT)
  if (!limit.ok) return limit
  const before = parseInteger(params, 'before', 1, Number.MAX_SAFE_INTEGER)
  if (!before.ok) return before
  const query: VisitsQuery = {limit: limit.value ?? DEFAULT_LIMIT}
  if (before.value !== undefined) query.before = before.value
  return {ok: true, value: query}
}
