/**
 * `stackctl down --all`: every stackctl stack on this engine with containers, found by the io.stackctl labels
 * (like `stackctl ls`), taken down one after the other. Volumes are never deleted here. A stack whose stack
 * directory still vouches for it (its stack.json holds the containers' stack id) goes down exactly like
 * `stackctl down` in that directory; one whose directory is gone or unreadable is taken down by its labels:
 * only the containers that carry stackctl's stack id are stopped (cleanly: their own stop signal and grace
 * period) and removed, never another container of the same Compose project. A failure of one stack does not
 * stop the others.
 */
import path from 'node:path'

import {LABELS} from '../../model/config/labels.js'
import {volumeName} from '../../model/config/stack-config.js'
import {countVisits} from '../../operations/db/visits.js'
import type {ContainerSummary, Engine} from '../../engine/engine.js'
import {Interrupted} from '../../errors.js'
import {ensureRealDirectory} from '../../model/stackdir/files.js'
import type {StackContext} from '../../stack/context.js'
import {downStack} from './down.js'
import {projectLockFile, withLock, withStackLock} from '../../stack/lock.js'

export interface DownAllTarget {
  project: string
  /** The stack id its containers carry. */
  stackId: string
  /** The stack directory its containers name; null when none does. */
  dir: string | null
  /** running (every container), partly running, stopped (none running) */
  state: 'running' | 'partly running' | 'stopped'
  /** Its containers that carry stackctl's labels: the only ones a take-down by labels touches. */
  containers: Array<{id: string; name: string; service: string; state: string}>
}

export interface DownAllStackReport {
  project: string
  dir: string | null
  /** As found. */
  state: DownAllTarget['state']
  /** stack directory: like `stackctl down` there; labels: its directory is gone or unreadable. */
  via: 'stack directory' | 'labels' | null
  outcome: 'down' | 'failed' | 'not touched'
  /** The containers removed (all of the stack's when it went down through Compose). */
  removed: string[]
  /** Kept, always; visits: null when they could not be counted (the db was not running). */
  volume: {name: string; visits: number | null}
  /** Why it failed; null otherwise. */
  error: string | null
}

export interface DownAllResult {
  stacks: DownAllStackReport[]
}

/**
 * Pure: the stacks to take down from the engine's stackctl-labelled containers, sorted by project. `prefix`
 * limits them to projects whose name starts with it (for tests that share an engine with other stacks).
 */
export function planDownAll(containers: readonly ContainerSummary[], prefix = ''): DownAllTarget[] {
  const ours = containers.filter((c) => c.labels[LABELS.stackId] && c.project.startsWith(prefix))
  const projects = [...new Set(ours.map((c) => c.project))].sort()
  return projects.map((project) => {
    const own = ours.filter((c) => c.project === project)
    const running = own.filter((c) => c.state === 'running').length
    return {
      project,
      stackId: own[0].labels[LABELS.stackId],
      dir: own.find((c) => c.labels[LABELS.dir])?.labels[LABELS.dir] ?? null,
      state: running === own.length ? 'running' : running > 0 ? 'partly running' : 'stopped',
      containers: own.map(({id, name, service, state}) => ({id, name, service, state})),
    }
  })
}

export async function findDownAllTargets(engine: Engine, prefix = ''): Promise<DownAllTarget[]> {
  await engine.ping()
  return planDownAll(await engine.containers.list({label: LABELS.stackId}), prefix)
}

export interface DownAllOptions {
  /** Loads the stack of a directory, for a take-down like `stackctl down` there; rejects when it cannot. */
  load: (dir: string, project: string) => Promise<StackContext>
  /** Ctrl-C: the stack under way is finished, the ones after it are not touched. */
  signal?: AbortSignal
  progress?: (line: string) => void
}

export async function downAllStacks(
  engine: Engine,
  targets: readonly DownAllTarget[],
  options: DownAllOptions,
): Promise<DownAllResult> {
  const stacks: DownAllStackReport[] = []
  for (const target of targets) {
    if (options.signal?.aborted) {
      stacks.push(report(target, {via: null, outcome: 'not touched', removed: [], visits: null, error: null}))
      continue
    }
    options.progress?.(`taking down stack '${target.project}'`)
    stacks.push(await downOne(engine, target, options))
  }
  if (options.signal?.aborted) {
    const done = stacks.filter((s) => s.outcome === 'down').map((s) => s.project)
    const left = stacks.filter((s) => s.outcome === 'not touched').map((s) => s.project)
    throw new Interrupted(
      `took down ${done.length > 0 ? done.join(', ') : 'no stack'} (volumes kept)${left.length > 0 ? `; not touched: ${left.join(', ')}` : ''}`,
      left.length > 0 ? 'run stackctl down --all again for the rest' : undefined,
    )
  }
  return {stacks}
}

function report(
  target: DownAllTarget,
  done: Pick<DownAllStackReport, 'via' | 'outcome' | 'removed' | 'error'> & {visits: number | null},
): DownAllStackReport {
  const {visits, ...rest} = done
  return {project: target.project, dir: target.dir, state: target.state, ...rest, volume: volumeOf(target, visits)}
}

function volumeOf(target: DownAllTarget, visits: number | null): DownAllStackReport['volume'] {
  return {name: volumeName(target.project), visits}
}

async function downOne(engine: Engine, target: DownAllTarget, options: DownAllOptions): Promise<DownAllStackReport> {
  const ctx = await vouchingStack(target, options.load)
  try {
    if (ctx) {
      const result = await withStackLock(ctx, 'down --all', () => downStack(ctx, {signal: options.signal})).catch(
        (error: unknown) => (error instanceof Interrupted ? undefined : Promise.reject(error)),
      )
      // Interrupted: downStack finishes a take-down it began, or has not begun it; the engine says which.
      const gone = result !== undefined || (await engine.containers.list({project: target.project})).length === 0
      if (!gone) return report(target, {via: null, outcome: 'not touched', removed: [], visits: null, error: null})
      const removed = target.containers.map((c) => c.name)
      const visits = result?.volume.visits ?? null
      return report(target, {via: 'stack directory', outcome: 'down', removed, visits, error: null})
    }
    const lock = projectLockFile(target.project)
    await ensureRealDirectory(path.dirname(lock), 0o700)
    return await withLock(lock, 'down --all', () => downByLabels(engine, target))
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error)
    return report(target, {
      via: ctx ? 'stack directory' : 'labels',
      outcome: 'failed',
      removed: [],
      visits: null,
      error: message,
    })
  }
}

/** The stack of the containers' directory, when its stack.json still holds their stack id. */
async function vouchingStack(target: DownAllTarget, load: DownAllOptions['load']): Promise<StackContext | undefined> {
  if (!target.dir) return undefined
  const ctx = await load(target.dir, target.project).catch(() => undefined)
  const ids = [ctx?.state?.stackId, ...(ctx?.state?.adopted?.stackIds ?? [])]
  return ctx && ids.includes(target.stackId) ? ctx : undefined
}

/**
 * Without a stack directory to vouch for them: the labelled containers only, the API before the database,
 * each stopped the way its configuration asks and then removed; the project's network only when no other
 * container of the project is left on it.
 */
async function downByLabels(engine: Engine, target: DownAllTarget): Promise<DownAllStackReport> {
  const visits = (await countVisits(engine, target.project)) ?? null
  const order = [...target.containers].sort((a, b) => (a.service === 'db' ? 1 : 0) - (b.service === 'db' ? 1 : 0))
  const removed: string[] = []
  for (const c of order) {
    if (c.state === 'running' || c.state === 'restarting' || c.state === 'paused') await engine.containers.stop(c.id)
  }
  for (const c of order) {
    await engine.containers.remove(c.id)
    removed.push(c.name)
  }
  const others = await engine.containers.list({project: target.project})
  if (others.length === 0) {
    for (const network of await engine.networks.listByProject(target.project)) await engine.networks.remove(network)
  }
  return report(target, {via: 'labels', outcome: 'down', removed, visits, error: null})
}
