/**
 * `npm run bench`: starts a stack of its own with the built CLI, measures the API (warm, from a cold pool and
 * on a busy machine, checking that its totals stay exact), the database's own limit for the same SQL and for
 * a plain single-row INSERT, the effect of a 1,000,000-row table, backing that table up and restoring it,
 * upgrading a PostgreSQL 15 stack of that size to 17 (on a stack of its own; `--only upgrade` runs just that), the CLI's
 * overhead, its start-up (`--only startup` runs just that, with no engine) and the image size, removes the
 * stack again (also on failure or Ctrl-C), then judges the targets and writes bench/results/<date>.json and
 * BENCHMARKS.md. Exit code: 0 all targets met, 1 a target missed, 2 the benchmark itself failed.
 */
import {existsSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import path from 'node:path'

import {parse} from 'yaml'

import {Psql} from '../src/lib/operations/db/psql.js'
import {createEngine} from '../src/lib/engine/dockerode-engine.js'
import type {Engine} from '../src/lib/engine/engine.js'
import {warmUp} from './api-load.js'
import {measureBackupRestore} from './backup-restore.js'
import {recordedRuns, writeCharts} from './chart-render.js'
import {CEILING_LEVELS, ceilingName, measureCeiling, removeCeiling, startCeiling} from './ceiling.js'
import {ceilingSection, ceilingTargets} from './ceiling-report.js'
import {measureCli, measureUp} from './cli-timing.js'
import {findPortProxy, type CpuTargets} from './cpu.js'
import {measureEngines, RunStacks} from './engines.js'
import {allExact, enginesTable, type EnginesResult} from './engines-report.js'
import {measureImage} from './image-size.js'
import {machineInfo} from './machine.js'
import {parseOptions, USAGE, type BenchOptions} from './options.js'
import {runPgbench} from './pgbench.js'
import {runPlainInsertPgbench} from './plain-insert.js'
import {repoRoot} from './proc.js'
import {consoleSummary, renderLatest, upgradeLine} from './markdown.js'
import {idleBaseline, idleLine, idleTargets, measureIdle} from './idle.js'
import {measureStartup, startupLine, startupTargets} from './startup.js'
import {updateBenchmarksFile, writeEnginesRun, writeJsonFile, writeResults, writeTextFile} from './report.js'
import {measureProtection} from './protection.js'
import {HaRun, measureHa} from './ha.js'
import {haSection, haTargets, updateHaText, type HaResult} from './ha-report.js'
import {holdSwarmLock, swarmLockFile} from './swarm-lock.js'
import {protectionSection, protectionTargets, updateProtectionText} from './protection-report.js'
import type {BenchResults, LoadResult, PgbenchResult} from './results.js'
import {checkedLoad, measureRobustness} from './robustness.js'
import {measureScale} from './scale.js'
import {measureUpgrade} from './upgrade.js'
import {appImage, containerIds, createStack, removeStack, startStack, type BenchStack} from './stack.js'
import {round} from './stats.js'
import {evaluateTargets} from './targets.js'
import {upLines, upTargets} from './up-report.js'

const began = Date.now()

function log(message: string): void {
  const seconds = Math.round((Date.now() - began) / 1000)
  process.stderr.write(`[bench +${seconds}s] ${message}\n`)
}

function assertBuilt(): void {
  for (const file of ['dist/api/server.mjs', 'oclif.manifest.json', 'dist/commands/up.js']) {
    if (!existsSync(path.join(repoRoot, file))) throw new Error(`${file} is missing: run npm run build first`)
  }
}

/** The base image the app image was built FROM, as rendered into the stack's compose file. */
async function baseImageOf(stack: BenchStack): Promise<string> {
  const compose = parse(await readFile(stack.composeFile, 'utf8')) as {
    services: {app: {build: {args: {NODE_IMAGE: string}}}}
  }
  return compose.services.app.build.args.NODE_IMAGE
}

/** Alternated rounds of each of archiving on and off. */
const COST_ROUNDS = 8

/** The concurrency the targets compare at. */
const COMPARED_LEVEL = 32

function comparedLast(levels: readonly number[]): number[] {
  return [...levels.filter((level) => level !== COMPARED_LEVEL), ...levels.filter((level) => level === COMPARED_LEVEL)]
}

async function measure(engine: Engine, stack: BenchStack, options: BenchOptions): Promise<BenchResults> {
  const startedAt = new Date().toISOString()
  const machine = await machineInfo(engine, stack.project)
  const idle = await startAndMeasureIdle(engine, stack, options)
  const {app, db} = await containerIds(engine, stack)
  const cpu: CpuTargets = {app, db, proxyPid: await findPortProxy(stack.port)}
  const ceiling = await ceilingRuns(stack, options)

  // pgbench before any API load: the API's pool (up to 8 connections) would take slots pgbench needs.
  // The compared level (32) runs last for pgbench and first for the API, so the two are measured seconds
  // apart and see the same background load as far as possible.
  const pgbench: PgbenchResult[] = []
  for (const clients of comparedLast(options.levels)) {
    log(`pgbench, ${clients} clients, ${options.seconds} s`)
    pgbench.push(await runPgbench(engine, db, clients, options.seconds, cpu))
  }
  // The plain-INSERT reference right before the API at the same level, as close in time as the same-SQL one.
  log(`pgbench plain single-row INSERT, ${COMPARED_LEVEL} clients, ${options.seconds} s`)
  const plainInsert = await runPlainInsertPgbench(engine, db, COMPARED_LEVEL, options.seconds, cpu)
  log(`API warm-up, ${options.warmUpSeconds} s`)
  await warmUp(stack.url, COMPARED_LEVEL, options.warmUpSeconds)
  const api: LoadResult[] = []
  const psql = new Psql(engine, db)
  for (const connections of comparedLast(options.apiLevels).reverse()) {
    log(`API GET /, ${connections} connections, ${options.seconds} s`)
    api.push(await checkedLoad(psql, stack.url, connections, options.seconds, cpu))
  }
  pgbench.sort((a, b) => a.requestedClients - b.requestedClients)
  api.sort((a, b) => a.connections - b.connections)
  const robustness = await measureRobustness(psql, stack.url, {
    levels: options.apiLevels,
    seconds: options.robustnessSeconds,
    cpuTargets: cpu,
    log,
  })

  log(`scale: empty table, then ${options.rows} rows`)
  const scale = await measureScale(psql, stack.url, {
    rows: options.rows,
    seconds: options.seconds,
    cpuTargets: cpu,
  })
  log(`backup and restore of ${scale.rows} visits`)
  const backupRestore = await measureBackupRestore(stack, psql)
  const upgrade = await measureUpgrade(engine, options.rows, log)
  const image = await measureImage(engine, await appImage(engine, stack), await baseImageOf(stack))

  log(`CLI: up on the running and the stopped stack vs compose (${options.upRuns} runs each), --version, cold up`)
  const cli = await measureCli(stack, {up: options.upRuns, version: options.versionRuns})
  log(`CLI start-up: node -e '', --version, --help (${options.startupRuns} interleaved runs each)`)
  const startup = await measureStartup(options.startupRuns)
  return {
    startedAt,
    finishedAt: new Date().toISOString(),
    durationSeconds: round((Date.now() - Date.parse(startedAt)) / 1000, 0),
    machine,
    portPath: cpu.proxyPid === undefined ? 'kernel NAT' : 'docker-proxy',
    api,
    ceiling,
    pgbench,
    plainInsert,
    robustness,
    scale,
    backupRestore,
    upgrade,
    cli,
    startup,
    idle,
    image,
  }
}

/**
 * The ceiling (bench/ceiling.ts) with the stack up and idle, before any load: after one, the database's
 * background work takes cores from it.
 */
async function ceilingRuns(stack: BenchStack, options: BenchOptions): Promise<LoadResult[]> {
  const name = ceilingName(stack.project)
  log(`ceiling: a no-database server in ${await baseImageOf(stack)}, ${CEILING_LEVELS.join('/')} connections`)
  try {
    const server = await startCeiling(name, await baseImageOf(stack), stack.project)
    return await measureCeiling(server, {seconds: options.seconds, warmUpSeconds: options.warmUpSeconds})
  } finally {
    const problem = await removeCeiling(name)
    if (problem) log(`cleanup: ${problem}`)
  }
}

/** How long a fresh stack is left alone before its idle CPU is measured: one round of the engine's 60 s checks. */
const SETTLE_SECONDS = 65

/**
 * The baseline before the stack exists, the start, a settling pause, then the idle window: first, while the
 * stack has done nothing else (no table rows, no pool warmed by load).
 */
async function startAndMeasureIdle(engine: Engine, stack: BenchStack, options: BenchOptions) {
  log(`idle baseline: the machine and the engine for ${options.idleSeconds} s before the stack starts`)
  const baseline = await idleBaseline(options.idleSeconds)
  log(`starting stack ${stack.project} on ${stack.url} (dir ${stack.dir})`)
  await startStack(stack)
  const {app, db} = await containerIds(engine, stack)
  log(`idle stack: ${SETTLE_SECONDS} s to settle, then ${options.idleSeconds} s measured`)
  await new Promise((resolve) => setTimeout(resolve, SETTLE_SECONDS * 1000))
  return measureIdle([app, db], baseline, options.idleSeconds)
}

/** `onOwnStacks` with one stack: the `--only` steps that need a stack but write no results. */
function onOwnStack(engine: Engine, body: (stack: BenchStack) => Promise<number>): Promise<number> {
  return onOwnStacks(engine, 1, ([stack]) => body(stack))
}

/** `--only idle`: a stack's idle CPU on its own stack, printed, nothing written. */
function measureIdleOnly(engine: Engine, options: BenchOptions): Promise<number> {
  return onOwnStack(engine, async (stack) => {
    const idle = await startAndMeasureIdle(engine, stack, options)
    process.stdout.write(`${idleLine({idle})}\n${JSON.stringify(idle)}\n`)
    return idleTargets(idle).every((t) => t.pass) ? 0 : 1
  })
}

/**
 * `--only ceiling`: on a stack of its own, the ceiling and then the API at the same levels (exactness checked),
 * printed as the report's section with the JSON, nothing written.
 */
function measureCeilingOnly(engine: Engine, options: BenchOptions): Promise<number> {
  return onOwnStack(engine, async (stack) => {
    log(`starting stack ${stack.project} on ${stack.url} (dir ${stack.dir})`)
    await startStack(stack)
    const {app, db} = await containerIds(engine, stack)
    const cpu: CpuTargets = {app, db, proxyPid: await findPortProxy(stack.port)}
    const ceiling = await ceilingRuns(stack, options)
    log(`API warm-up, ${options.warmUpSeconds} s`)
    await warmUp(stack.url, COMPARED_LEVEL, options.warmUpSeconds)
    const psql = new Psql(engine, db)
    const api: LoadResult[] = []
    for (const connections of comparedLast(CEILING_LEVELS).reverse()) {
      log(`API GET /, ${connections} connections, ${options.seconds} s`)
      api.push(await checkedLoad(psql, stack.url, connections, options.seconds, cpu))
    }
    api.sort((a, b) => a.connections - b.connections)
    process.stdout.write(`${ceilingSection({api, ceiling})}\n${JSON.stringify({api, ceiling})}\n`)
    const exact = api.every((r) => r.exactness?.exact)
    return exact && ceilingTargets({api, ceiling}).every((t) => t.pass) ? 0 : 1
  })
}

/**
 * Runs `body` on `count` stacks of its own, all removed afterwards and on Ctrl-C/SIGTERM (exit 130).
 */
async function onOwnStacks<T>(engine: Engine, count: number, body: (stacks: BenchStack[]) => Promise<T>): Promise<T> {
  const stacks: BenchStack[] = []
  for (let i = 0; i < count; i++) stacks.push(await createStack())
  let cleanup: Promise<void> | undefined
  const teardown = () =>
    (cleanup ??= (async () => {
      for (const stack of stacks) {
        log(`removing stack ${stack.project}`)
        for (const problem of await removeStack(engine, stack)) log(`cleanup: ${problem}`)
      }
    })())
  // Listening (not once): a second signal while the stacks are being removed must not end the process
  // half-way (with no listener left, tsx's own handler exits at once).
  const interrupted = (signal: NodeJS.Signals) => {
    log(`${signal}: ${cleanup ? 'already removing the stacks' : `removing ${stacks.map((s) => s.project).join(', ')}`}`)
    void teardown().then(() => process.exit(130))
  }
  process.on('SIGINT', interrupted)
  process.on('SIGTERM', interrupted)
  try {
    return await body(stacks)
  } finally {
    await teardown()
    process.off('SIGINT', interrupted)
    process.off('SIGTERM', interrupted)
  }
}

/**
 * `--only protection`: WAL archiving's cost, the recovery point of a lost volume, exact point-in-time restores
 * and backup/restore at `rows` visits (bench/protection.ts), printed; with --write also
 * bench/results/protection-<stamp>.json and BENCHMARKS.md's "## Protection" section.
 */
async function measureProtectionOnly(engine: Engine, options: BenchOptions): Promise<number> {
  const protection = await onOwnStacks(engine, 2, ([on, off]) =>
    measureProtection(
      engine,
      {on, off},
      {
        seconds: options.seconds,
        rounds: COST_ROUNDS,
        runs: options.runs,
        targets: options.targets,
        rows: options.rows,
        log,
      },
    ),
  )
  const targets = protectionTargets(protection)
  const stamp = protection.startedAt.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-')
  const file = options.write ? path.join('bench', 'results', `protection-${stamp}.json`) : '(not written)'
  process.stdout.write(
    `\n${protectionSection(protection, targets, file)}\n\n${consoleSummary(targets)}\n${JSON.stringify({...protection, targets})}\n`,
  )
  if (options.write) {
    await writeJsonFile(path.join(repoRoot, file), {...protection, targets})
    const benchmarks = path.join(repoRoot, 'BENCHMARKS.md')
    await writeTextFile(
      benchmarks,
      updateProtectionText(await readFile(benchmarks, 'utf8'), protectionSection(protection, targets, file)),
    )
    log(`wrote ${file} and BENCHMARKS.md's Protection section`)
  }
  return targets.every((t) => t.pass) ? 0 : 1
}

/** `--only upgrade`: the upgrade step on its own stack, printed, nothing written. */
async function measureOnly(engine: Engine, options: BenchOptions): Promise<number> {
  const upgrade = await measureUpgrade(engine, options.rows, log)
  process.stdout.write(`${upgradeLine({upgrade})}\n${JSON.stringify(upgrade)}\n`)
  return upgrade.exact ? 0 : 1
}

/**
 * `--only engines`: each engine's up times and API req/s on stacks of its own (bench/engines.ts), printed as a
 * table with the JSON; with --write also bench/results/engines-<date>.json and BENCHMARKS.md's "## Engines".
 * Ctrl-C/SIGTERM stops the running stackctl as Ctrl-C would, removes this run's stacks and exits 130.
 */
async function measureEnginesOnly(options: BenchOptions): Promise<number> {
  const abort = new AbortController()
  let interrupted: NodeJS.Signals | undefined
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return
    interrupted = signal
    log(`${signal}: stopping the running step, then removing this run's stacks`)
    abort.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const stacks = new RunStacks()
  let result: EnginesResult | undefined
  let leftovers = 0
  try {
    result = await measureEngines(
      {
        engines: options.engines,
        seconds: options.seconds,
        warmUpSeconds: options.warmUpSeconds,
        upRuns: options.upRuns,
        signal: abort.signal,
        log,
      },
      stacks,
    )
  } catch (error) {
    if (!interrupted) throw error
  } finally {
    const {projects, problems} = await stacks.removeAll()
    for (const problem of problems) log(`cleanup: ${problem}`)
    if (projects.length > 0) log(`removed stack(s) ${projects.join(', ')}`)
    leftovers = problems.length
  }
  if (interrupted || !result) {
    const left = leftovers === 0 ? 'no stack of this run is left' : 'see the cleanup problems above'
    log(`${interrupted}: stopped; ${left}; nothing was written`)
    return 130
  }
  const file = options.write ? await writeEnginesRun(repoRoot, result) : '(not written: add --write)'
  process.stdout.write(`${enginesTable(result)}
${JSON.stringify(result)}
`)
  for (const m of result.missing)
    process.stdout.write(`${m.line}
`)
  log(`results: ${file}${options.write ? ' and BENCHMARKS.md' : ''}`)
  return result.missing.length === 0 && allExact(result) ? 0 : 1
}

/**
 * `--only ha`: on a local swarm of its own, under the machine's swarm lock (bench/swarm-lock.ts), the API's req/s
 * with the single db and the HA database, the HA stack's memory and the fault matrix (bench/ha.ts), printed; with
 * --write also bench/results/ha-<stamp>.json and BENCHMARKS.md's "## HA" section. Ctrl-C/SIGTERM stops the
 * running stackctl as Ctrl-C would, removes the stacks and the swarm, and exits 130.
 */
async function measureHaOnly(options: BenchOptions): Promise<number> {
  const abort = new AbortController()
  let interrupted: NodeJS.Signals | undefined
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return
    interrupted = signal
    log(`${signal}: stopping the running step; what this run made is removed before it exits`)
    abort.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const release = await holdSwarmLock(swarmLockFile(), log, abort.signal).catch((error: unknown) => {
    if (interrupted) return undefined
    throw error
  })
  if (!release) {
    log(`${interrupted}: stopped while waiting for the swarm lock; nothing was made or written`)
    return 130
  }
  const haRun = new HaRun()
  let result: HaResult | undefined
  let problems: string[] = []
  try {
    result = await measureHa(haRun, {
      runs: options.runs,
      faults: options.faults,
      seconds: options.seconds,
      warmUpSeconds: options.warmUpSeconds,
      signal: abort.signal,
      log,
    })
  } catch (error) {
    if (!interrupted) throw error
  } finally {
    log(`removing swarm ${haRun.swarm} (with stack ${haRun.project} and its volumes)`)
    problems = await haRun.remove()
    for (const problem of problems) log(`cleanup: ${problem}`)
    await release()
  }
  if (interrupted || !result) {
    const left = problems.length === 0 ? 'no stack or swarm of this run is left' : 'see the cleanup problems above'
    log(`${interrupted}: stopped; ${left}; nothing was written`)
    return 130
  }
  const targets = haTargets(result)
  const stamp = result.startedAt.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-')
  const file = options.write ? path.join('bench', 'results', `ha-${stamp}.json`) : '(not written: add --write)'
  process.stdout.write(
    `\n${haSection(result, targets, file)}\n\n${consoleSummary(targets)}\n${JSON.stringify({...result, targets})}\n`,
  )
  if (options.write) {
    await writeJsonFile(path.join(repoRoot, file), {...result, targets})
    const benchmarks = path.join(repoRoot, 'BENCHMARKS.md')
    await writeTextFile(benchmarks, updateHaText(await readFile(benchmarks, 'utf8'), haSection(result, targets, file)))
    log(`wrote ${file} and BENCHMARKS.md's HA section`)
  }
  return targets.every((t) => t.pass) ? 0 : 1
}

/**
 * `--only up`: on a stack of its own, `stackctl up` against `docker compose up -d --wait` on the running stack
 * and from stopped (--up-runs interleaved rounds each), printed with the judgements, nothing written.
 */
function measureUpOnly(engine: Engine, options: BenchOptions): Promise<number> {
  return onOwnStack(engine, async (stack) => {
    log(`starting stack ${stack.project} on ${stack.url} (dir ${stack.dir})`)
    await startStack(stack)
    log(`up vs compose up, running and from stopped (${options.upRuns} interleaved rounds each)`)
    const up = await measureUp(stack, options.upRuns)
    process.stdout.write(`${upLines(up)}\n${JSON.stringify(up)}\n`)
    return upTargets(up).every((t) => t.pass) ? 0 : 1
  })
}

/** `--only startup`: the start-up step on its own (no engine, no stack), printed, nothing written. */
async function measureStartupOnly(options: BenchOptions): Promise<number> {
  const startup = await measureStartup(options.startupRuns)
  process.stdout.write(`${startupLine({startup})}\n${JSON.stringify(startup)}\n`)
  return startupTargets(startup).every((t) => t.pass) ? 0 : 1
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2))
  assertBuilt()
  if (options.only === 'startup') return measureStartupOnly(options)
  if (options.only === 'engines') return measureEnginesOnly(options)
  if (options.only === 'ha') return measureHaOnly(options)
  const engine = createEngine()
  if (options.only === 'upgrade') return measureOnly(engine, options)
  if (options.only === 'idle') return measureIdleOnly(engine, options)
  if (options.only === 'ceiling') return measureCeilingOnly(engine, options)
  if (options.only === 'up') return measureUpOnly(engine, options)
  if (options.only === 'protection') return measureProtectionOnly(engine, options)
  const stack = await createStack()
  let cleanup: Promise<string[]> | undefined
  const teardown = () => (cleanup ??= removeStack(engine, stack))
  // Listening (not once), as onOwnStacks does: a second Ctrl-C while the stack is being removed must not end
  // the process half-way.
  const interrupted = (signal: NodeJS.Signals) => {
    log(`${signal}: ${cleanup ? 'already removing' : 'removing'} stack ${stack.project}`)
    void teardown().then(() => process.exit(130))
  }
  process.on('SIGINT', interrupted)
  process.on('SIGTERM', interrupted)

  let results: BenchResults
  try {
    results = await measure(engine, stack, options)
  } finally {
    log(`removing stack ${stack.project}`)
    for (const problem of await teardown()) log(`cleanup: ${problem}`)
  }

  const targets = evaluateTargets(results)
  const file = options.write ? await writeResults(repoRoot, results, targets) : '(not written)'
  process.stdout.write(`\n${renderLatest(results, targets, file)}\n\n${consoleSummary(targets)}\n`)
  if (options.write) {
    await updateBenchmarksFile(repoRoot, results, targets, file)
    const charts = await writeCharts(repoRoot, results, await recordedRuns(repoRoot), file)
    log(`wrote ${file}, BENCHMARKS.md and ${charts.join(', ')}`)
  }
  return targets.every((t) => t.pass) ? 0 : 1
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`)
    process.exit(2)
  },
)
