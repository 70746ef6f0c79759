/** The targets, judged on one run's results. Pure. */
import type {BenchResults, LoadResult, TargetResult} from './results.js'
import {ceilingTargets} from './ceiling-report.js'
import {idleTargets} from './idle.js'
import {STARTUP_RATIO_LIMIT, startupTargets} from './startup.js'
import {round} from './stats.js'
import {upTargets} from './up-report.js'

export const LIMITS = {
  apiShareOfPgbench: 0.3,
  apiShareOfPlainInsert: 0.6,
  p99Ms: 50,
  scaleP50Ratio: 1.2,
  /** The CLI step's own --version pair (10 runs); the start-up step judges --version and --help too. */
  versionRatio: STARTUP_RATIO_LIMIT,
  imageAddedMB: 15,
}

const MB = 1e6

function at(results: readonly LoadResult[], connections: number): LoadResult {
  const found = results.find((r) => r.connections === connections)
  if (!found) throw new Error(`no API result at ${connections} connections`)
  return found
}

export function evaluateTargets(results: BenchResults): TargetResult[] {
  const api32 = at(results.api, 32)
  const pg32 = results.pgbench.find((r) => r.requestedClients === 32)
  const share = pg32 ? api32.rps / pg32.tps : Number.NaN
  const allLoads = [...results.api, results.scale.empty, results.scale.grown]
  const non2xx = allLoads.reduce((sum, r) => sum + r.non2xx, 0)
  const errors = allLoads.reduce((sum, r) => sum + r.errors, 0)
  const plain = results.plainInsert
  const plainShare = plain ? api32.rps / plain.tps : Number.NaN
  const robustLoads = results.robustness?.runs.map((r) => r.load) ?? []
  const robustNon2xx = robustLoads.reduce((sum, r) => sum + r.non2xx, 0)
  const robustErrors = robustLoads.reduce((sum, r) => sum + r.errors, 0)
  const checked = [...results.api, ...robustLoads].filter((r) => r.exactness !== undefined)
  const inexact = checked.filter((r) => !r.exactness!.exact)
  const scaleRatio = results.scale.grown.p50 / results.scale.empty.p50
  const {cli} = results
  const versionRatio = cli.version.medianMs / cli.nodeBaseline.medianMs
  const addedMB = results.image.addedBytes / MB
  return [
    {
      name: 'API req/s at 32 connections vs pgbench TPS (same SQL, 32 clients)',
      limit: `>= ${LIMITS.apiShareOfPgbench} x`,
      value: `${round(share, 2)} x (${api32.rps} / ${pg32 ? round(pg32.tps, 0) : '?'})`,
      pass: share >= LIMITS.apiShareOfPgbench,
    },
    {
      name: 'API req/s at 32 connections vs pgbench TPS (plain single-row INSERT, 32 clients)',
      limit: `>= ${LIMITS.apiShareOfPlainInsert} x`,
      value: `${round(plainShare, 2)} x (${api32.rps} / ${plain ? round(plain.tps, 0) : '?'})`,
      pass: plainShare >= LIMITS.apiShareOfPlainInsert,
    },
    {
      name: 'GET / p99 at 32 connections',
      limit: `<= ${LIMITS.p99Ms} ms`,
      value: `${api32.p99} ms`,
      pass: api32.p99 <= LIMITS.p99Ms,
    },
    {
      name: 'non-2xx responses and errors (all API runs)',
      limit: '0',
      value: `${non2xx} non-2xx, ${errors} errors`,
      pass: non2xx === 0 && errors === 0,
    },
    {
      name: 'non-2xx responses and errors (cold pool and busy machine runs)',
      limit: '0',
      value: `${robustNon2xx} non-2xx, ${robustErrors} errors in ${robustLoads.length} runs`,
      pass: robustLoads.length > 0 && robustNon2xx === 0 && robustErrors === 0,
    },
    {
      name: 'totals exact and monotonic (every checked run)',
      limit: '0 runs off',
      value: `${inexact.length} of ${checked.length} runs off`,
      pass: checked.length > 0 && inexact.length === 0,
    },
    {
      name: `GET / p50 with ${results.scale.rows.toLocaleString('en-US')} rows vs empty table`,
      limit: `<= ${LIMITS.scaleP50Ratio} x`,
      value: `${round(scaleRatio, 2)} x (${results.scale.grown.p50} / ${results.scale.empty.p50} ms)`,
      pass: scaleRatio <= LIMITS.scaleP50Ratio && results.scale.counterExact,
    },
    ...upTargets(cli),
    {
      name: "stackctl --version vs node -e '', medians",
      limit: `<= ${LIMITS.versionRatio} x`,
      value: `${round(versionRatio, 2)} x (${cli.version.medianMs} / ${cli.nodeBaseline.medianMs} ms)`,
      pass: versionRatio <= LIMITS.versionRatio,
    },
    {
      name: `API image size over ${results.image.baseImage}`,
      limit: `< ${LIMITS.imageAddedMB} MB`,
      value: `${round(addedMB, 2)} MB`,
      pass: addedMB < LIMITS.imageAddedMB,
    },
    ...ceilingTargets(results),
    ...(results.startup ? startupTargets(results.startup) : []),
    ...(results.idle ? idleTargets(results.idle) : []),
  ]
}
