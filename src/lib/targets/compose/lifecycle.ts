/**
 * `stackctl stop`, `start` and `restart`: the stack's containers are stopped and kept (like `docker compose
 * stop`), started again as they are and waited for until healthy, or both. Nothing is created or removed:
 * the containers, the network and the data volume stay. Stopping lets PostgreSQL shut down cleanly (the
 * rendered file's stop_signal SIGINT and stop_grace_period 60s, which Compose honours).
 */
import {ensureBackupSchedule} from '../../operations/protect/schedule.js'
import {appUrl} from '../../model/config/stack-config.js'
import {stackCommand} from '../../model/config/command-line.js'
import {countedVisits} from '../../operations/db/visits.js'
import type {ContainerSummary} from '../../engine/engine.js'
import {Interrupted, ProcessFailed, ProcessTimedOut, StackctlError} from '../../errors.js'
import type {StackContext} from '../../stack/context.js'
import {collectFacts, explainUnhealthy} from './diagnose.js'
import {claimStack} from '../../stack/ownership.js'
import {portUse, takenBy} from '../../stack/port.js'
import {SERVICES} from '../../stack/status.js'
import {findProject, putBack, type FoundProject} from './up-undo.js'
import {newWaitMemory, waitStackHealthy} from './wait-healthy.js'
import {confirmReadiness} from './readiness.js'
import {plural} from '../../cli/ui/plural.js'

export type LifecycleAction = 'stop' | 'start' | 'restart'

export interface LifecycleResult {
  project: string
  action: LifecycleAction
  /** Each service's container: its state before the command and after it ('absent' when it has none). */
  services: Array<{name: string; container: string | null; before: string; after: string; health: string}>
  /** False when there was nothing to do (stop: every container was already stopped). */
  changed: boolean
  /** Where the API answers; null when the stack is not running. */
  url: string | null
  volume: {name: string; exists: boolean}
  /** The API's total of visits once started; null after stop (the database is not running to ask). */
  visits: number | null
  seconds: number
  /** The stack directory. */
  dir: string
}

export interface LifecycleOptions {
  /** Ctrl-C: a stop is finished (never left half-done); a start is undone (its containers stopped again). */
  signal?: AbortSignal
}

const STOPPED = new Set(['exited', 'created', 'dead'])

export async function stopStack(ctx: StackContext, options: LifecycleOptions = {}): Promise<LifecycleResult> {
  const started = Date.now()
  const before = await checked(ctx)
  const running = before.filter((c) => !STOPPED.has(c.state))
  if (running.length > 0) {
    if (options.signal?.aborted) throw new Interrupted('nothing was changed')
    await stopContainers(ctx)
    if (options.signal?.aborted) {
      throw new Interrupted(
        `the stack '${ctx.config.project}' was stopped completely first, so it is not left half-stopped; its containers and the volume ${ctx.config.volume} are kept`,
        `run ${stackCommand(ctx.config, 'start')} to start it again`,
      )
    }
  }
  return result(ctx, 'stop', before, running.length > 0, started)
}

export async function startStack(ctx: StackContext, options: LifecycleOptions = {}): Promise<LifecycleResult> {
  const started = Date.now()
  const before = await checked(ctx)
  assertStartable(ctx, before)
  await assertPortFree(ctx)
  await startAndWait(ctx, await findProject(ctx), 'start', options.signal)
  return result(
    ctx,
    'start',
    before,
    before.some((c) => c.state !== 'running'),
    started,
  )
}

/** Stop, then start, then wait until healthy: the same containers, the same volume. */
export async function restartStack(ctx: StackContext, options: LifecycleOptions = {}): Promise<LifecycleResult> {
  const started = Date.now()
  const before = await checked(ctx)
  assertStartable(ctx, before)
  if (options.signal?.aborted) throw new Interrupted('nothing was changed')
  if (before.some((c) => !STOPPED.has(c.state))) await stopContainers(ctx)
  if (options.signal?.aborted) {
    throw new Interrupted(
      `restart of stack '${ctx.config.project}' stopped after its stop: the stack is stopped, its containers and the volume ${ctx.config.volume} are kept`,
      `run ${stackCommand(ctx.config, 'start')} to start it again`,
    )
  }
  await assertPortFree(ctx)
  await startAndWait(ctx, await findProject(ctx), 'restart', options.signal)
  return result(ctx, 'restart', before, true, started)
}

/** The engine, Compose and ownership checked; the project's containers as found. */
async function checked(ctx: StackContext): Promise<ContainerSummary[]> {
  await ctx.engine.ping()
  await ctx.compose.assertV2()
  // Never stop or start another stack's (or a hand-made) project of the same name.
  await claimStack(ctx)
  // A copy: what was found must not change with what the engine reports later.
  return (await ctx.engine.containers.list({project: ctx.config.project})).map((c) => ({...c}))
}

/** Pure: the services without a container (start cannot create one: that is up's work). */
export function missingServices(containers: readonly Pick<ContainerSummary, 'service'>[]): string[] {
  return SERVICES.filter((service) => !containers.some((c) => c.service === service))
}

function assertStartable(ctx: StackContext, containers: readonly ContainerSummary[]): void {
  const missing = missingServices(containers)
  if (missing.length === 0) return
  const what =
    containers.length === 0
      ? 'has no containers (it was taken down, or never started)'
      : `has no ${missing.join(' or ')} container`
  throw new StackctlError(`stack '${ctx.config.project}' ${what}: there is nothing to start`, {
    exitCode: 1,
    suggestion: `run ${stackCommand(ctx.config, 'up')} to create and start them; the volume ${ctx.config.volume} is kept as it is`,
  })
}

async function stopContainers(ctx: StackContext): Promise<void> {
  ctx.phase('stop containers')
  // Shielded from Ctrl-C: Compose stops the app, then the db, each with its grace period, and must finish.
  await ctx.compose.stop(['app', 'db'], {onLine: (line) => ctx.detail(line), shield: true})
}

/** Starting would fail on the port: say who holds it before anything is started. */
async function assertPortFree(ctx: StackContext): Promise<void> {
  const {host, port, project} = ctx.config
  const use = await portUse(ctx.engine, {host, port, project})
  if (use.state !== 'taken') return
  throw new StackctlError(`port ${port} on ${host} is already in use${takenBy(use)}`, {
    exitCode: 2,
    suggestion: `stop ${use.holder ?? 'what holds it'}, then run ${stackCommand(ctx.config, 'start')} again; nothing was changed`,
  })
}

async function startAndWait(
  ctx: StackContext,
  found: FoundProject,
  action: LifecycleAction,
  signal: AbortSignal | undefined,
): Promise<void> {
  const {project, timeoutSeconds} = ctx.config
  const memory = newWaitMemory(await collectFacts(ctx.engine.containers, project, {logs: false}))
  try {
    ctx.phase('start containers')
    await ctx.compose.start(['db', 'app'], {
      onLine: (line) => ctx.detail(line),
      signal,
      // Compose waits for the db's health before it starts the app (depends_on).
      timeoutMs: timeoutSeconds * 1000,
    })
    await waitStackHealthy(ctx, memory, signal)
    // The db's scheduled backups run in its container: a new start needs the loop again.
    await ensureBackupSchedule(ctx)
  } catch (error) {
    if (error instanceof Interrupted || signal?.aborted) throw await interruptedStart(ctx, found, action)
    if (error instanceof ProcessFailed || error instanceof ProcessTimedOut) throw await explainUnhealthy(ctx, error)
    throw error
  }
}

/** Ctrl-C while starting: the containers are stopped again, as they were found; the message says so. */
async function interruptedStart(ctx: StackContext, found: FoundProject, action: LifecycleAction): Promise<Interrupted> {
  const {project, volume} = ctx.config
  const done = await putBack(ctx, found)
  const start = stackCommand(ctx.config, 'start')
  if (!done) {
    return new Interrupted(
      `${action} of stack '${project}' stopped; part of it was running already and is left running`,
      `run ${start} to finish starting it; the volume ${volume} was not touched`,
    )
  }
  const names = found.containers.map((c) => c.name).join(', ')
  const what = done.stopped ? `stopped ${names} again` : 'nothing had been started yet'
  return new Interrupted(
    `${action} of stack '${project}' stopped; back to stopped (${what}), containers kept`,
    `run ${start} to start it; the volume ${volume} was not touched`,
  )
}

async function result(
  ctx: StackContext,
  action: LifecycleAction,
  before: readonly ContainerSummary[],
  changed: boolean,
  started: number,
): Promise<LifecycleResult> {
  const {project} = ctx.config
  const [after, volume, visits] = await Promise.all([
    // Just waited for by stackctl's probe: the engine's first check may still be due.
    ctx.engine.containers.list({project}).then((listed) => confirmReadiness(listed, ctx)),
    ctx.engine.volumes.inspect(ctx.config.volume),
    action === 'stop' ? Promise.resolve(undefined) : countedVisits(ctx.engine, project),
  ])
  const services = SERVICES.map((name) => {
    const was = before.find((c) => c.service === name)
    const now = after.find((c) => c.service === name)
    return {
      name,
      container: now?.name ?? was?.name ?? null,
      before: was?.state ?? 'absent',
      after: now?.state ?? 'absent',
      health: now?.health ?? 'none',
    }
  })
  const running = services.every((s) => s.after === 'running')
  return {
    project,
    action,
    services,
    changed,
    url: running ? appUrl(ctx.config) : null,
    volume: {name: ctx.config.volume, exists: volume !== undefined},
    visits: visits ?? null,
    seconds: (Date.now() - started) / 1000,
    dir: ctx.paths.dir,
  }
}

/** Pure: the one line a command prints for its result, true in every case. */
export function describeLifecycle(result: LifecycleResult, command: (verb: string) => string): string {
  const stack = `stack '${result.project}'`
  const containers = result.services
    .map((s) => s.container)
    .filter(Boolean)
    .join(', ')
  const visits = result.visits === null ? '' : ` (${plural(result.visits, 'visit')})`
  const volume = result.volume.exists ? `volume ${result.volume.name} kept` : 'it has no data volume'
  if (result.action === 'stop') {
    if (!containers) return `${stack} has no containers: nothing was stopped; ${volume}`
    const what = result.changed ? 'stopped' : 'was already stopped'
    return `${stack} ${what}; containers ${containers} and ${volume} (${command('start')} starts it again)`
  }
  const verb = result.action === 'restart' ? 'restarted' : result.changed ? 'started' : 'was already running'
  return `${stack} ${verb} in ${result.seconds.toFixed(1)}s: ${result.url ?? 'not running'}${visits}`
}
