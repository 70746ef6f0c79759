/**
 * Ctrl-C or SIGTERM during `up` of a stack that was not running: the engine is put back as `up` found it.
 * Containers this run created are removed, containers it found stopped are stopped again, and a network
 * Compose created in this run is removed (one that was there before stays). The volume is never touched.
 * A stack that was found running is left as it is: taking it down would be a change nobody asked for.
 */
import {Interrupted} from '../../errors.js'
import type {StackContext} from '../../stack/context.js'
import {stackCommand} from '../../model/config/command-line.js'

export interface FoundProject {
  containers: Array<{id: string; name: string; service: string; state: string}>
  networks: string[]
}

/** What to do to get from `now` back to `found`; undefined when `found` had something running. */
export interface UndoPlan {
  /** Some container is running or starting now: Compose stops the services first, gracefully. */
  stop: boolean
  /** Containers this run created. */
  remove: FoundProject['containers']
  /** Networks this run created. */
  removeNetworks: string[]
  /** Containers found stopped that Compose replaced before the signal: they cannot come back as they were. */
  replaced: string[]
}

const STOPPED = new Set(['exited', 'created', 'dead'])

/** Pure: the undo from the project as found to the project as it is now. */
export function undoPlan(found: FoundProject, now: FoundProject): UndoPlan | undefined {
  if (found.containers.some((c) => !STOPPED.has(c.state))) return undefined
  const foundIds = new Set(found.containers.map((c) => c.id))
  const nowIds = new Set(now.containers.map((c) => c.id))
  return {
    stop: now.containers.some((c) => !STOPPED.has(c.state)),
    remove: now.containers.filter((c) => !foundIds.has(c.id)),
    removeNetworks: now.networks.filter((n) => !found.networks.includes(n)),
    replaced: found.containers.filter((c) => !nowIds.has(c.id)).map((c) => c.name),
  }
}

export function isEmptyPlan(plan: UndoPlan): boolean {
  return !plan.stop && plan.remove.length === 0 && plan.removeNetworks.length === 0
}

export async function findProject(ctx: StackContext): Promise<FoundProject> {
  const {project} = ctx.config
  const [containers, networks] = await Promise.all([
    ctx.engine.containers.list({project}),
    ctx.engine.networks.listByProject(project),
  ])
  return {containers: containers.map(({id, name, service, state}) => ({id, name, service, state})), networks}
}

/**
 * Compose stopped by a signal leaves its last request to the engine behind: a container start it had sent
 * goes on in the engine and can turn the container to running a moment after Compose exited (seen in CI: a
 * db "back to stopped" by start's Ctrl-C was running a few seconds later). How long a request may still be on
 * its way to the engine.
 */
const IN_FLIGHT_MS = 750

/**
 * The project as the engine has it once no start is in flight. The list is the engine's quick view, which a
 * start in progress does not show yet; inspecting a container waits for that start to end (the engine holds
 * the container's lock for both), so each state comes from inspect.
 */
async function settledProject(ctx: StackContext, waitMs: number): Promise<FoundProject> {
  if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs))
  const listed = await findProject(ctx)
  const containers = await Promise.all(
    listed.containers.map(async (c) => {
      const details = await ctx.engine.containers.inspect(c.id)
      if (!details) return undefined // removed meanwhile
      const state = details.running ? 'running' : STOPPED.has(c.state) ? c.state : 'exited'
      return {...c, state}
    }),
  )
  return {...listed, containers: containers.filter((c) => c !== undefined)}
}

/** What putBack did, for a message that says exactly that. */
export interface PutBack {
  stopped: boolean
  removed: string[]
  removedNetworks: string[]
  replaced: string[]
}

/**
 * Puts the project back as found (shielded from further signals); undefined when it was found running. A
 * container the engine was still starting when Compose stopped can appear after a first pass: hence a second.
 */
export async function putBack(ctx: StackContext, found: FoundProject): Promise<PutBack | undefined> {
  const done: PutBack = {stopped: false, removed: [], removedNetworks: [], replaced: []}
  for (let pass = 0; pass < 3; pass++) {
    const plan = undoPlan(found, await settledProject(ctx, pass === 0 ? IN_FLIGHT_MS : 0))
    if (!plan) return undefined
    done.replaced = plan.replaced
    if (isEmptyPlan(plan)) break
    if (plan.stop) {
      await ctx.compose.stop(['app', 'db'], {onLine: (line) => ctx.detail(line), shield: true})
      done.stopped = true
    }
    for (const container of plan.remove) {
      await ctx.engine.containers.remove(container.id)
      done.removed.push(container.name)
    }
    for (const network of plan.removeNetworks) {
      await ctx.engine.networks.remove(network)
      done.removedNetworks.push(network)
    }
  }
  return done
}

/** Puts the project back as found and says what was done, as the Interrupted that `up` ends with. */
export async function interruptedUp(ctx: StackContext, found: FoundProject): Promise<Interrupted> {
  const {project, volume} = ctx.config
  const done = await putBack(ctx, found)
  if (!done) {
    return new Interrupted(
      `stack '${project}' may be partly started`,
      `run ${stackCommand(ctx.config, 'up')} again to finish starting it, or ${stackCommand(ctx.config, 'down')} to stop it; the volume ${volume} was not touched`,
    )
  }
  return new Interrupted(
    describePutBack(project, found, done),
    `the volume ${volume} was not touched; run ${stackCommand(ctx.config, 'up')} to start it`,
  )
}

/** Pure: one sentence on what putBack did, true in every case. */
export function describePutBack(project: string, found: FoundProject, done: PutBack): string {
  const state =
    found.containers.length === 0
      ? 'no containers'
      : `stopped containers ${found.containers.map((c) => c.name).join(', ')}`
  const actions: string[] = []
  if (done.removed.length > 0) actions.push(`removed the container(s) it had created (${done.removed.join(', ')})`)
  if (done.removedNetworks.length > 0)
    actions.push(`removed the network ${done.removedNetworks.join(', ')} it had created`)
  const kept = found.containers.filter((c) => !done.replaced.includes(c.name)).map((c) => c.name)
  if (done.stopped && kept.length > 0) actions.push(`stopped ${kept.join(', ')} again`)
  const what = actions.length > 0 ? actions.join(', ') : 'nothing had been started yet'
  const lost =
    done.replaced.length > 0
      ? `; Compose had already replaced ${done.replaced.join(', ')}, so ${done.replaced.length === 1 ? 'it is' : 'they are'} gone (up creates new ones)`
      : ''
  return `up of stack '${project}' stopped; back as found (${state}): ${what}${lost}`
}
