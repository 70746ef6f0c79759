/**
 * `--only engines`: `up` time and the API's req/s at 32 connections on each engine this machine runs (rootful
 * Docker and Podman, rootless Docker and Podman: test/helpers/engines.ts), each on a stack of its own, in one
 * run so that each engine's numbers can be set against rootful Docker's. On a rootless engine stackctl runs as
 * the engine's own user, from a directory that user owns, as such a user would run it.
 *
 * Per engine: one untimed up and down first (it builds the app image when the engine lacks it), so every timed
 * `up` finds the images present. Then rounds of: a new stack's first `up` (removed again), and the first stack's
 * `up` from stopped (then `down`), engine after engine, the order turned each round so that load drift hits all
 * alike. Last, each engine alone: its stack up, a warm-up, then `GET /` with the exactness check.
 */
import {loadavg, cpus} from 'node:os'

import {engineName} from '../src/lib/engine/capabilities.js'
import {createEngine} from '../src/lib/engine/dockerode-engine.js'
import type {Engine, EngineDescription} from '../src/lib/engine/engine.js'
import {Psql} from '../src/lib/operations/db/psql.js'
import {engineAccess, type EngineAccess, type EngineKey} from '../test/helpers/engines.js'
import {warmUp} from './api-load.js'
import {
  ENGINES_CONNECTIONS,
  engineMissingLine,
  ratiosToDocker,
  upTimes,
  type EngineMissing,
  type EngineRun,
  type EnginesResult,
} from './engines-report.js'
import {checkedLoad} from './robustness.js'
import {containerIds, createStack, removeStack, startStack, stopStack, type BenchStack} from './stack.js'
import {round} from './stats.js'

export interface EnginesOptions {
  engines: EngineKey[]
  seconds: number
  warmUpSeconds: number
  upRuns: number
  /** Aborted on Ctrl-C/SIGTERM: the running stackctl is stopped as Ctrl-C would, no further step starts. */
  signal: AbortSignal
  log: (message: string) => void
}

/** The stacks this run created and has not removed yet, with their engines: what a failure or Ctrl-C removes. */
export class RunStacks {
  private readonly live = new Map<BenchStack, Engine>()

  add(engine: Engine, stack: BenchStack): BenchStack {
    this.live.set(stack, engine)
    return stack
  }

  /** Removes one stack; returns the problems met (removeStack never throws). */
  async remove(stack: BenchStack): Promise<string[]> {
    const engine = this.live.get(stack)
    if (!engine) return []
    this.live.delete(stack)
    return removeStack(engine, stack)
  }

  /** Removes every stack left; returns the projects removed and the problems met. */
  async removeAll(): Promise<{projects: string[]; problems: string[]}> {
    const projects: string[] = []
    const problems: string[] = []
    for (const stack of [...this.live.keys()]) {
      projects.push(stack.project)
      problems.push(...(await this.remove(stack)))
    }
    return {projects, problems}
  }
}

interface Reached {
  access: EngineAccess
  engine: Engine
  description: EngineDescription
}

const DESCRIBE_TIMEOUT_MS = 15_000

/** The engine behind the access's socket, or why it cannot be used (no answer, another engine than expected). */
export async function reachEngine(access: EngineAccess): Promise<Reached | {reason: string}> {
  if (access.rootless && !access.user) return {reason: `there is no user ${access.userName}`}
  const engine = createEngine({DOCKER_HOST: `unix://${access.socket}`})
  let timer: NodeJS.Timeout | undefined
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer in ${DESCRIBE_TIMEOUT_MS / 1000} s`)), DESCRIBE_TIMEOUT_MS)
    })
    const description = await Promise.race([engine.describe(), timeout])
    if (description.kind !== access.kind || description.rootless !== access.rootless) {
      return {reason: `${engineName(description)} answers there`}
    }
    return {access, engine, description}
  } catch (error) {
    const cause = (error as {cause?: unknown}).cause
    const message = cause instanceof Error ? cause.message : (error as Error).message
    return {reason: message.split('\n')[0]}
  } finally {
    clearTimeout(timer)
  }
}

function stackOn(reached: Reached) {
  const {user} = reached.access
  return {dockerHost: `unix://${reached.access.socket}`, user}
}

/** Round r visits the engines starting with the r-th. */
export function turned<T>(items: readonly T[], round: number): T[] {
  const start = items.length === 0 ? 0 : round % items.length
  return [...items.slice(start), ...items.slice(0, start)]
}

export async function measureEngines(options: EnginesOptions, stacks: RunStacks): Promise<EnginesResult> {
  const {signal, log} = options
  const startedAt = new Date().toISOString()
  const loadAtStart = loadavg().map((v) => round(v))
  const reached: Reached[] = []
  const missing: EngineMissing[] = []
  for (const key of options.engines) {
    const access = engineAccess(key)
    const found = await reachEngine(access)
    if ('reason' in found) {
      const line = engineMissingLine(access, found.reason)
      log(line)
      missing.push({key, title: access.title, line})
    } else {
      log(`${access.title}: ${engineName(found.description)} (API ${found.description.apiVersion}) at ${access.socket}`)
      reached.push(found)
    }
  }

  const main = new Map<Reached, BenchStack>()
  for (const r of reached) {
    const stack = stacks.add(r.engine, await createStack(stackOn(r)))
    main.set(r, stack)
    log(`${r.access.title}: stack ${stack.project}, untimed up and down (builds the app image if missing)`)
    await startStack(stack, signal)
    await stopStack(stack, signal)
  }

  const fresh = new Map<Reached, number[]>(reached.map((r) => [r, []]))
  const stopped = new Map<Reached, number[]>(reached.map((r) => [r, []]))
  for (let run = 0; run < options.upRuns; run++) {
    for (const r of turned(reached, run)) {
      signal.throwIfAborted()
      const stack = stacks.add(r.engine, await createStack(stackOn(r)))
      const first = await startStack(stack, signal)
      fresh.get(r)?.push(first.ms)
      for (const problem of await stacks.remove(stack)) log(`cleanup: ${problem}`)
      const again = await startStack(main.get(r) as BenchStack, signal)
      stopped.get(r)?.push(again.ms)
      await stopStack(main.get(r) as BenchStack, signal)
      log(
        `${r.access.title}, round ${run + 1}/${options.upRuns}: up fresh ${(first.ms / 1000).toFixed(1)} s, ` +
          `from stopped ${(again.ms / 1000).toFixed(1)} s`,
      )
    }
  }

  const runs: EngineRun[] = []
  for (const r of reached) {
    signal.throwIfAborted()
    const stack = main.get(r) as BenchStack
    await startStack(stack, signal)
    log(
      `${r.access.title}: API warm-up ${options.warmUpSeconds} s, then GET / at ${ENGINES_CONNECTIONS} for ${options.seconds} s`,
    )
    await warmUp(stack.url, ENGINES_CONNECTIONS, options.warmUpSeconds)
    const {db} = await containerIds(r.engine, stack)
    const load = await checkedLoad(new Psql(r.engine, db), stack.url, ENGINES_CONNECTIONS, options.seconds, {})
    log(`${r.access.title}: ${load.rps} req/s, p99 ${load.p99} ms, exact ${load.exactness?.exact}`)
    // Removed while up: removeStack then knows which app image it used (and removes it if this run built it).
    for (const problem of await stacks.remove(stack)) log(`cleanup: ${problem}`)
    runs.push({
      key: r.access.key,
      title: r.access.title,
      engine: engineName(r.description),
      apiVersion: r.description.apiVersion,
      rootless: r.description.rootless,
      upFresh: upTimes(fresh.get(r) ?? []),
      upStopped: upTimes(stopped.get(r) ?? []),
      load,
    })
  }

  return {
    startedAt,
    finishedAt: new Date().toISOString(),
    seconds: options.seconds,
    warmUpSeconds: options.warmUpSeconds,
    upRuns: options.upRuns,
    connections: ENGINES_CONNECTIONS,
    loadAtStart,
    loadAtEnd: loadavg().map((v) => round(v)),
    cores: cpus().length,
    engines: ratiosToDocker(runs),
    missing,
  }
}
