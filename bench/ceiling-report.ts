/** The API against its ceiling (bench/ceiling.ts): the comparison, its target and its section. Pure. */
import type {BenchResults, CeilingComparison, LoadResult, TargetResult} from './results.js'
import {round} from './stats.js'

/** The target at 32 connections, with durability as shipped and the count exact. */
export const CEILING_FRACTION_LIMIT = 0.75
const COMPARED_LEVEL = 32

/** The API's req/s over the ceiling's at each level both were measured at. */
export function compareWithCeiling(api: readonly LoadResult[], ceiling: readonly LoadResult[]): CeilingComparison[] {
  return ceiling.flatMap((top) => {
    const ours = api.find((r) => r.connections === top.connections)
    if (!ours || !(top.rps > 0)) return []
    return [
      {connections: top.connections, apiRps: ours.rps, ceilingRps: top.rps, fraction: round(ours.rps / top.rps, 2)},
    ]
  })
}

export function ceilingTargets(results: Pick<BenchResults, 'api' | 'ceiling'>): TargetResult[] {
  if (!results.ceiling) return []
  const at32 = compareWithCeiling(results.api, results.ceiling).find((c) => c.connections === COMPARED_LEVEL)
  return [
    {
      name: `API req/s at ${COMPARED_LEVEL} connections vs the no-database ceiling (same image, port path, load)`,
      limit: `>= ${CEILING_FRACTION_LIMIT} x`,
      value: at32 ? `${at32.fraction} x (${at32.apiRps} / ${at32.ceilingRps})` : 'not measured',
      pass: at32 !== undefined && at32.fraction >= CEILING_FRACTION_LIMIT,
    },
  ]
}

const cores = (value: number | undefined) => value ?? '–'

/** The section of BENCHMARKS.md: both servers per level, with where the CPU went for each. */
export function ceilingSection(results: Pick<BenchResults, 'api' | 'ceiling'>): string {
  if (!results.ceiling) return ''
  const rows = compareWithCeiling(results.api, results.ceiling).map((c) => {
    const api = results.api.find((r) => r.connections === c.connections)!
    const top = results.ceiling!.find((r) => r.connections === c.connections)!
    return [
      c.connections,
      c.ceilingRps,
      top.p99,
      `${cores(top.cpu?.app)} / ${cores(top.cpu?.proxy)} / ${cores(top.cpu?.loadGenerator)} / ${cores(top.cpu?.other)}`,
      c.apiRps,
      api.p99,
      `${cores(api.cpu?.app)} / ${cores(api.cpu?.db)} / ${cores(api.cpu?.proxy)} / ${cores(api.cpu?.loadGenerator)} / ${cores(api.cpu?.other)}`,
      `${c.fraction} x`,
    ]
  })
  const header = [
    'connections',
    'ceiling req/s',
    'ceiling p99 ms',
    'CPU ceiling / proxy / load gen / other',
    'API req/s',
    'API p99 ms',
    'CPU app / db / proxy / load gen / other',
    'API / ceiling',
  ]
  const line = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`
  return [
    '**Ceiling** — a Node HTTP server answering `{"visits":1}` with no database, in the stack’s base image with ' +
      'the app’s limits, published on 127.0.0.1 the same way, loaded by the same autocannon runs (measured first, ' +
      'with the stack up and idle). What separates the API from it is its own work per request and PostgreSQL’s ' +
      'share of the cores:',
    '',
    [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n'),
  ].join('\n')
}
