/** The report's parts for issue 16: the plain-INSERT reference, the cold and busy runs, exactness. Pure. */
import {compareWithCeiling} from './ceiling-report.js'
import type {ExactnessResult} from './exactness.js'
import type {BenchResults, LoadResult} from './results.js'
import {round} from './stats.js'

/** The columns of every load table. */
export const LOAD_HEADER = [
  'req/s',
  'p50 ms',
  'p99 ms',
  'requests',
  'non-2xx',
  'errors',
  'CPU app / db / proxy / load gen',
  'CPU other',
]

function table(header: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}

export function exactnessCell(exactness: ExactnessResult | undefined): string {
  if (!exactness) return '–'
  const verdict = exactness.exact ? 'yes' : '**NO**'
  return (
    `${verdict} (${exactness.replies} replies, ${exactness.monotonicViolations} non-monotonic, ` +
    `${exactness.duplicateTotals} duplicate; final ${exactness.finalTotal} = count(*) ${exactness.rows})`
  )
}

function cpu(r: LoadResult): string {
  const c = r.cpu
  return `${c?.app ?? '–'} / ${c?.db ?? '–'} / ${c?.proxy ?? '–'} / ${c?.loadGenerator ?? '–'}`
}

export function plainInsertSection(results: BenchResults): string {
  const plain = results.plainInsert
  if (!plain) return ''
  const api = results.api.find((r) => r.connections === plain.requestedClients)
  const share = api ? round(api.rps / plain.tps, 2) : '–'
  return (
    `**Plain INSERT reference** — pgbench, ${plain.clients} clients, \`INSERT INTO stackctl_bench_plain DEFAULT VALUES\` ` +
    '(a scratch table shaped like `visits`, created and dropped by the run; one row and one durable commit per ' +
    `transaction): ${round(plain.tps, 0)} TPS, avg latency ${plain.latencyAvgMs} ms, ${plain.failed} failed, ` +
    `CPU db ${plain.cpu?.db ?? '–'}, other ${plain.cpu?.other ?? '–'}. API at ${plain.requestedClients} connections: ` +
    `${api?.rps ?? '–'} req/s = ${share} ×.`
  )
}

export function exactnessSection(results: BenchResults): string {
  const checked = results.api.filter((r) => r.exactness)
  if (checked.length === 0) return ''
  return [
    '**Exactness of the warm runs** — every 200 reply’s total with its send and arrival time; a reply may not ' +
      'report less than one that arrived before it was sent; after the run one more visit must report count(*):',
    '',
    table(
      ['connections', 'exact'],
      checked.map((r) => [r.connections, exactnessCell(r.exactness)]),
    ),
  ].join('\n')
}

export function robustnessSection(results: BenchResults): string {
  const rob = results.robustness
  if (!rob) return ''
  return [
    `**Cold pool and busy machine** — \`GET /\`, ${rob.seconds} s per run: *cold* after ${rob.idleSeconds} s idle ` +
      `(longer than the pool's idle timeout), *busy* with ${rob.burnerThreads} spinning threads of another ` +
      'process (one per core) for the whole run:',
    '',
    table(
      ['scenario', 'connections', ...LOAD_HEADER, 'exact'],
      rob.runs.map(({scenario, load: r}) => [
        scenario,
        r.connections,
        r.rps,
        r.p50,
        r.p99,
        r.requests,
        r.non2xx,
        r.errors,
        cpu(r),
        r.cpu?.other ?? '–',
        exactnessCell(r.exactness),
      ]),
    ),
  ].join('\n')
}

/** Cells appended to a history row. */
export function historyCells(results: BenchResults): Array<string | number> {
  const api = results.api.find((r) => r.connections === 32)
  const plain = results.plainInsert
  const ceiling = compareWithCeiling(results.api, results.ceiling ?? []).find((c) => c.connections === 32)
  const {upStopped, composeUpStopped} = results.cli
  const {startup} = results
  return [
    plain ? round(plain.tps, 0) : '–',
    api && plain ? round(api.rps / plain.tps, 2) : '–',
    ceiling ? ceiling.fraction : '–',
    upStopped && composeUpStopped ? round(upStopped.medianMs / composeUpStopped.medianMs, 2) : '–',
    startup ? round(startup.help.medianMs / startup.nodeBaseline.medianMs, 2) : '–',
  ]
}

export const HISTORY_EXTRA_HEADER = [
  'plain INSERT TPS @32',
  'API/plain INSERT',
  'API/ceiling @32',
  'up stopped/compose',
  'help/node',
]
