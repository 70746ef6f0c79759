/**
 * `up` waits for health itself instead of through `docker compose up --wait`. Compose's wait gives up at the
 * first unhealthy report: after `docker stop <db>`, the app (unhealthy only because its database was gone)
 * failed `up` within seconds although its next check, once the db was back, would have passed. Here:
 * - a container that exits, is dead, paused, cannot be started, or restarts during this `up` fails at once;
 * - an unhealthy service gets a grace period that starts only once everything it depends on is healthy;
 * - anything else is waited for until --timeout, and the time reported is the time really waited.
 * The judgement of one look at the containers is pure (judgeStartup) and unit-tested; the loop only polls.
 */
import type {ContainerClient} from '../../engine/engine.js'
import {StackctlError} from '../../errors.js'
import {collectFacts, diagnoseStartup, formatSeconds, startOrder, type ContainerFacts} from './diagnose.js'
import {type CommandFor, commandsFor, plainCommand} from '../../model/config/command-line.js'
import {repairRestoreLeftovers, type LeftoverCheck} from '../../operations/backup-restore/restore-leftovers.js'
import {wakeArchiveTimeout} from '../../operations/protect/archive.js'
import type {StackContext} from '../../stack/context.js'
import {SERVICES} from '../../stack/status.js'
import {clockOf} from '../../engine/wait/clock.js'
import {Deadline} from '../../engine/wait/deadline.js'
import {failed, type Look, ready, waitUntil, waiting} from '../../engine/wait/wait-until.js'
import {appUrl} from '../../model/config/stack-config.js'
import {APP_PROBE_TIMEOUT_MS, overlayReadiness, probeApp, type Probes, stackProbes} from './readiness.js'
import {FOREIGN_PREFIX} from '../../../api/healthz-protocol.js'

/**
 * How long a service may stay unhealthy once its dependencies are healthy: one interval of its health check plus
 * the check's timeout and some slack, so one passing check can turn it healthy again (an app that was unhealthy
 * while its db was stopped says so until its next check, whatever stackctl's own probe sees meanwhile). This is
 * the grace for the shipped checks (every 60 s, 10 s timeout) and for a check whose timing the engine does not
 * report; a check with its own timing (an override file's) gets one interval of its own (`graceFor`).
 */
export const UNHEALTHY_GRACE_MS = 75_000
/** The slack over a check's interval and timeout: the engine's own scheduling, a loaded host. */
const GRACE_SLACK_MS = 5000
/** The engine's defaults for a check that sets no interval or timeout (Docker's and Podman's: 30 s each). */
const ENGINE_DEFAULT_CHECK_MS = 30_000

/** The grace of one container: from its own check's timing where the engine reports it, else `fallbackMs`. */
export function graceFor(c: Pick<ContainerFacts, 'healthIntervalMs' | 'healthTimeoutMs'>, fallbackMs: number): number {
  if (c.healthIntervalMs === undefined && c.healthTimeoutMs === undefined) return fallbackMs
  const interval = c.healthIntervalMs ?? ENGINE_DEFAULT_CHECK_MS
  const timeout = c.healthTimeoutMs ?? ENGINE_DEFAULT_CHECK_MS
  return interval + timeout + GRACE_SLACK_MS
}
const POLL_MS = 500

export type StartupVerdict =
  {state: 'healthy'} | {state: 'waiting'; pending: string[]} | {state: 'failed'; service: string}

/** What one wait remembers between looks: restart counts when it began, since when a service is unhealthy. */
export interface WaitMemory {
  restartsBefore: Map<string, number>
  unhealthySince: Map<string, number>
}

export function newWaitMemory(before: readonly Pick<ContainerFacts, 'service' | 'restartCount'>[] = []): WaitMemory {
  return {
    restartsBefore: new Map(before.map((c) => [c.service, c.restartCount])),
    unhealthySince: new Map(),
  }
}

function isHealthy(c: ContainerFacts | undefined): boolean {
  return c !== undefined && c.state === 'running' && (c.health === 'healthy' || c.health === 'none')
}

/** Whether this container already shows a failure that waiting cannot mend. */
function failedForGood(c: ContainerFacts, memory: WaitMemory): boolean {
  if (c.state === 'exited' || c.state === 'dead' || c.state === 'paused') return true
  if (c.state === 'created' && c.error) return true
  return c.restartCount > (memory.restartsBefore.get(c.service) ?? 0)
}

/**
 * One look at the stack's containers: all expected services healthy, one failed, or still waiting (and for
 * which). Updates `memory.unhealthySince`.
 */
export function judgeStartup(
  containers: readonly ContainerFacts[],
  expected: readonly string[],
  memory: WaitMemory,
  nowMs: number,
  graceMs = UNHEALTHY_GRACE_MS,
): StartupVerdict {
  const byService = new Map(containers.map((c) => [c.service, c]))
  const pending: string[] = []
  for (const c of startOrder(containers.filter((x) => expected.includes(x.service)))) {
    if (failedForGood(c, memory)) return {state: 'failed', service: c.service}
    if (isHealthy(c)) {
      memory.unhealthySince.delete(c.service)
      continue
    }
    pending.push(c.service)
    const dependenciesHealthy = c.dependsOn.every((service) => isHealthy(byService.get(service)))
    if (c.health !== 'unhealthy' || !dependenciesHealthy) {
      memory.unhealthySince.delete(c.service)
      continue
    }
    const since = memory.unhealthySince.get(c.service) ?? nowMs
    memory.unhealthySince.set(c.service, since)
    if (nowMs - since >= graceFor(c, graceMs)) return {state: 'failed', service: c.service}
  }
  for (const service of expected) if (!byService.has(service)) pending.push(service)
  return pending.length === 0 ? {state: 'healthy'} : {state: 'waiting', pending}
}

/** A wait trusts a stack that answers now over the engine's `starting` and over an `unhealthy` from before. */
const WAIT_OVERRULES = ['starting', 'unhealthy']

export interface WaitOptions {
  project: string
  services: readonly string[]
  /** When the wait gives up (ms since the epoch): the start of `up` plus --timeout. */
  deadlineMs: number
  timeoutSeconds: number
  volume: string
  /** How hints name commands for this stack (with its --dir and --project-name). */
  command?: CommandFor
  memory: WaitMemory
  /** stackctl's own probe, laid over the engine's `starting` (readiness.ts); without it, the engine's word alone. */
  probes?: Probes
  startedMs: number
  /** Where each service is shown once as it turns healthy; shared by the waits of one step. */
  shown: ServiceProgress
  signal?: AbortSignal
  now?: () => number
  sleep?: (ms: number) => Promise<void>
}

/**
 * How a wait shows its services: each one once, as it turns healthy, with the time since `sinceMs` (the start of
 * the step, so that the db's and the app's times read on one scale even across two waits), and the services
 * still waited for.
 */
export interface ServiceProgress {
  sinceMs: number
  announced: Set<string>
  healthy: (service: string, ms: number) => void
  pending: (services: readonly string[]) => void
}

export function serviceProgress(
  ctx: Pick<StackContext, 'partDone' | 'waiting'>,
  sinceMs: number = Date.now(),
): ServiceProgress {
  return {
    sinceMs,
    announced: new Set(),
    healthy: (service, ms) => ctx.partDone(`${service} healthy`, ms),
    pending: (services) => ctx.waiting(services.length > 0 ? `waiting for ${services.join(', ')}` : undefined),
  }
}

/** Polls until every service is healthy; says when each became so. Throws the diagnosis on failure. */
export async function waitHealthy(containers: ContainerClient, options: WaitOptions): Promise<void> {
  const clock = clockOf(options)
  const {shown} = options
  let reasons = new Map<string, string>()
  const look = async (): Promise<Look<void, StartupVerdict>> => {
    let facts = await collectFacts(containers, options.project, {logs: false})
    if (options.probes) {
      ;({services: facts, reasons} = await overlayReadiness(facts, options.probes, {overrule: WAIT_OVERRULES}))
    }
    const verdict = judgeStartup(facts, options.services, options.memory, clock.now())
    for (const c of startOrder(facts)) {
      if (options.services.includes(c.service) && isHealthy(c) && !shown.announced.has(c.service)) {
        shown.announced.add(c.service)
        shown.healthy(c.service, clock.now() - shown.sinceMs)
      }
    }
    const pending = verdict.state === 'waiting' ? verdict.pending : []
    shown.pending(options.services.filter((service) => pending.includes(service)))
    if (verdict.state === 'healthy') return ready(undefined)
    return verdict.state === 'failed' ? failed(verdict) : waiting(verdict)
  }
  const outcome = await waitUntil(look, {
    deadline: new Deadline(options.deadlineMs, clock),
    intervalMs: POLL_MS,
    signal: options.signal,
    describe: `${options.project} healthy`,
  }).finally(() => shown.pending([]))
  if (outcome.state === 'ready') return
  if (outcome.state === 'aborted') throw outcome.reason
  throw await startupFailure(containers, options, outcome.last, clock.now(), reasons)
}

async function startupFailure(
  containers: ContainerClient,
  options: WaitOptions,
  verdict: StartupVerdict,
  nowMs: number,
  probeReasons: ReadonlyMap<string, string>,
): Promise<StackctlError> {
  const waited = formatSeconds((nowMs - options.startedMs) / 1000)
  const command = options.command ?? plainCommand
  // stackctl's probe laid over the engine's `starting`, as in the wait: a db the probe found ready is not blamed
  // because the engine has not run its first check yet (it runs 60 s after the start). And the probe's last word
  // where it had one.
  let facts = await collectFacts(containers, options.project)
  if (options.probes) facts = (await overlayReadiness(facts, options.probes, {overrule: WAIT_OVERRULES})).services
  facts = facts.map((c) => ({...c, lastHealthCheck: probeReasons.get(c.service) ?? c.lastHealthCheck}))
  const diagnosis = diagnoseStartup(facts, {
    now: new Date(nowMs),
    timeoutSeconds: options.timeoutSeconds,
    volume: options.volume,
    command: options.command,
  })
  if (!diagnosis) {
    const pending = verdict.state === 'waiting' ? verdict.pending.join(', ') : 'the stack'
    return new StackctlError(
      `${pending} did not become healthy within ${waited} (--timeout ${options.timeoutSeconds})`,
      {
        exitCode: 1,
        suggestion: `see ${command('status')} and ${command('logs')}; the volume ${options.volume} was not touched`,
      },
    )
  }
  return new StackctlError([diagnosis.summary, ...diagnosis.details, `up waited ${waited}`].join('\n'), {
    exitCode: 1,
    suggestion: diagnosis.suggestion,
  })
}

/**
 * The stack's wait after Compose started it (up, start, restart): a killed restore's leftovers are repaired
 * first (the app cannot get in until then), then both services are waited for, until the stack's --timeout.
 * `wake: false` leaves waking archive_timeout to the caller (up's afterReady asks the db anyway).
 */
export async function waitStackHealthy(
  ctx: StackContext,
  memory: WaitMemory,
  signal: AbortSignal | undefined,
  {wake = true}: {wake?: boolean} = {},
): Promise<LeftoverCheck> {
  // The app no longer waits for the db's health to start (it starts with it), so the repair waits for the db
  // itself: it connects to PostgreSQL to reopen a database a killed restore left closed.
  ctx.phase('wait until healthy')
  const shown = serviceProgress(ctx)
  await waitServicesReady(ctx, ['db'], memory, signal, shown)
  if (wake) await wakeArchiveTimeout(ctx)
  const {check} = await repairRestoreLeftovers(ctx)
  await waitServicesReady(ctx, SERVICES, memory, signal, shown)
  return check
}

/**
 * Waits until these services are healthy, by the engine's word or stackctl's own probe (readiness.ts), until
 * the stack's --timeout from now.
 */
export async function waitServicesReady(
  ctx: StackContext,
  services: readonly string[],
  memory: WaitMemory,
  signal: AbortSignal | undefined,
  shown: ServiceProgress = serviceProgress(ctx),
): Promise<void> {
  const startedMs = Date.now()
  const {project, timeoutSeconds} = ctx.config
  await waitHealthy(ctx.engine.containers, {
    project,
    services: [...services],
    startedMs,
    deadlineMs: startedMs + timeoutSeconds * 1000,
    timeoutSeconds,
    volume: ctx.config.volume,
    command: commandsFor(ctx.config),
    memory,
    probes: ownProbes(ctx),
    shown,
    signal,
  })
  if (services.includes('app')) await assertOwnApi(ctx)
}

/** stackProbes for this stack, where another stack's answer ends the wait at once: waiting will not change it. */
function ownProbes(ctx: StackContext): Probes {
  const probes = stackProbes(ctx.engine.containers, appUrl(ctx.config), ctx.state?.stackId)
  return {
    ...probes,
    app: async () => {
      const answer = await probes.app()
      if (!answer.ready && answer.reason.startsWith(FOREIGN_PREFIX)) throw foreignApi(ctx, answer.reason)
      return answer
    },
  }
}

function foreignApi(ctx: StackContext, reason: string): StackctlError {
  return new StackctlError(`${appUrl(ctx.config)}: ${reason}`, {
    exitCode: 1,
    suggestion: `stop what else forwards port ${ctx.config.port} (another engine's container: podman ps; a rule left behind: iptables -t nat -S | grep ${ctx.config.port}); this stack's containers and volume are left as they are`,
  })
}

/**
 * The engine's check runs inside the container, so "healthy" says nothing of who answers on the published port:
 * another engine's container or a forwarding rule left behind can answer there for another stack, and every
 * visit, count and check through the URL would then be that stack's. Asked once, after the wait.
 */
async function assertOwnApi(ctx: StackContext): Promise<void> {
  const answer = await probeApp(appUrl(ctx.config), APP_PROBE_TIMEOUT_MS, ctx.state?.stackId)
  if (answer.ready || !answer.reason.startsWith(FOREIGN_PREFIX)) return
  throw foreignApi(ctx, answer.reason)
}
