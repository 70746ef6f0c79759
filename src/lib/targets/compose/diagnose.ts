/**
 * Why `up` failed to start the stack: the service that failed first, in dependency order (db before app, so
 * an app that merely waited for a broken db is not blamed), with its real reason — state, exit code, restarts,
 * how long after its start it failed, its last health check and log lines. The choice and the wording work on
 * plain data (ContainerFacts) and are unit-tested; collecting the facts is the only part that needs an engine.
 */
import path from 'node:path'

import type {ContainerClient} from '../../engine/engine.js'
import {type ProcessFailed, type ProcessTimedOut, StackctlError} from '../../errors.js'
import type {StackContext} from '../../stack/context.js'
import {type CommandFor, commandsFor, plainCommand} from '../../model/config/command-line.js'

const LOG_LINES = 20

/** What the diagnosis needs to know about one container of the stack. */
export interface ContainerFacts {
  service: string
  /** The container's id (absent in facts made up by tests). */
  id?: string
  /** The engine's state: created | running | restarting | paused | exited | dead | removing */
  state: string
  /** healthy | unhealthy | starting | none */
  health: string
  exitCode?: number
  restartCount: number
  /** The engine's error when it could not start the container (e.g. a port already allocated). */
  error?: string
  startedAt?: Date
  finishedAt?: Date
  /** The services it waits for (Compose's depends_on). */
  dependsOn: string[]
  /** The Compose files the container was created from (the rendered one, the user's override). */
  composeFiles: string[]
  lastHealthCheck?: string
  /** The health check's command as the engine runs it (absent when it did not say). */
  healthTest?: string[]
  /** How often the check runs and how long one may take, in ms (absent where the engine's defaults apply). */
  healthIntervalMs?: number
  healthTimeoutMs?: number
  logTail: string
}

export interface DiagnoseContext {
  now: Date
  /** How long `up` waits for the services to become healthy (--timeout). */
  timeoutSeconds: number
  volume: string
  /** How hints name commands for this stack (with its --dir and --project-name). */
  command?: CommandFor
}

export interface Diagnosis {
  service: string
  /** One line: which service and why. */
  summary: string
  details: string[]
  suggestion: string
}

/** The containers in start order: every service after the services it depends on, otherwise by name. */
export function startOrder(containers: readonly ContainerFacts[]): ContainerFacts[] {
  const byService = new Map(containers.map((c) => [c.service, c]))
  const ordered: ContainerFacts[] = []
  const visiting = new Set<string>()
  const visit = (container: ContainerFacts) => {
    if (ordered.includes(container) || visiting.has(container.service)) return
    visiting.add(container.service)
    for (const dependency of [...container.dependsOn].sort()) {
      const found = byService.get(dependency)
      if (found) visit(found)
    }
    ordered.push(container)
  }
  for (const container of [...containers].sort((a, b) => a.service.localeCompare(b.service))) visit(container)
  return ordered
}

/** Compose's label `db:service_healthy:true,cache:service_started:false` → ['db', 'cache']. */
export function parseDependsOn(label: string | undefined): string[] {
  return (label ?? '')
    .split(',')
    .map((entry) => entry.split(':')[0].trim())
    .filter(Boolean)
}

/** Seconds as people read them: one decimal below ten, whole seconds above. */
export function formatSeconds(seconds: number): string {
  return seconds < 10 ? `${Math.max(0, seconds).toFixed(1)} s` : `${Math.round(seconds)} s`
}

function secondsBetween(from: Date | undefined, to: Date | undefined): number | undefined {
  return from && to ? (to.getTime() - from.getTime()) / 1000 : undefined
}

function exitDescription(c: ContainerFacts): string {
  if (c.exitCode === 137) return 'it was killed (SIGKILL, exit code 137)'
  return `it exited with code ${c.exitCode ?? 'unknown'}`
}

function after(seconds: number | undefined, what: string): string {
  return seconds === undefined ? '' : ` ${formatSeconds(seconds)} ${what}`
}

/** Why this container keeps the stack from starting, or undefined when it is fine (or just waiting). */
export function failureOf(c: ContainerFacts, now: Date): string | undefined {
  const ran = secondsBetween(c.startedAt, c.finishedAt)
  const restarts = c.restartCount === 1 ? '1 restart' : `${c.restartCount} restarts`
  if (c.state === 'restarting') {
    return `failed to start: ${exitDescription(c)}${after(ran, 'after it started')} and is being restarted (${restarts} so far)`
  }
  // Caught between two attempts of a restart loop: running again, not healthy (the exit code is reset).
  if (c.state === 'running' && c.restartCount > 0 && (c.health === 'starting' || c.health === 'unhealthy')) {
    return `failed to start: it keeps exiting and being restarted (${restarts} so far)`
  }
  if (c.state === 'exited' || c.state === 'dead') {
    return `failed to start: ${exitDescription(c)}${after(ran, 'after it started')}`
  }
  if (c.state === 'created') return c.error ? `could not be started: ${c.error}` : undefined
  if (c.state === 'paused') return 'is paused'
  const running = secondsBetween(c.startedAt, now)
  if (c.health === 'unhealthy') return `is unhealthy: its health check failed${after(running, 'after it started')}`
  if (c.health === 'starting') {
    return `did not become healthy: its health check had not passed${after(running, 'after it started')}`
  }
  return undefined
}

/**
 * The service that failed first and why, or undefined when every container looks fine (then the failure was
 * Compose's own, and its message says more).
 */
export function diagnoseStartup(containers: readonly ContainerFacts[], ctx: DiagnoseContext): Diagnosis | undefined {
  const ordered = startOrder(containers)
  const culprit = ordered.find((c) => failureOf(c, ctx.now) !== undefined)
  if (!culprit) return undefined
  const waiting = ordered.filter((c) => c.state === 'created' && !c.error && c !== culprit)

  const state = [
    `state ${culprit.state}`,
    culprit.state === 'running' || culprit.state === 'created' ? undefined : `exit code ${culprit.exitCode ?? '?'}`,
    culprit.restartCount > 0 ? `${culprit.restartCount} restarts` : undefined,
    `health ${culprit.health}`,
  ].filter(Boolean)
  const details = [
    `${culprit.service}: ${state.join(', ')}`,
    culprit.lastHealthCheck ? `last health check: ${culprit.lastHealthCheck}` : undefined,
    culprit.logTail.trim() ? `last log lines:\n${culprit.logTail.trimEnd()}` : undefined,
    waiting.length > 0 ? `not started, waiting for it: ${waiting.map((c) => c.service).join(', ')}` : undefined,
    culprit.health === 'starting' ? `up waits ${ctx.timeoutSeconds} s for health checks (--timeout)` : undefined,
  ].filter((line): line is string => line !== undefined)

  const command = ctx.command ?? plainCommand
  const override = culprit.composeFiles.map((file) => path.basename(file)).find((name) => /override/.test(name))
  const suggestion = [
    override ? `check what ${override} changes for '${culprit.service}'; ` : '',
    `fix the cause above and run ${command('up')} again. The containers were left for inspection `,
    `(${command(`logs ${culprit.service}`)}); the volume ${ctx.volume} was not touched`,
  ].join('')
  return {
    service: culprit.service,
    summary: `service '${culprit.service}' ${failureOf(culprit, ctx.now)}`,
    details,
    suggestion,
  }
}

const date = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms))

/** Reads the facts of the project's containers from the engine (with each one's last log lines unless logs: false). */
export async function collectFacts(
  containers: ContainerClient,
  project: string,
  options: {logs?: boolean} = {},
): Promise<ContainerFacts[]> {
  const listed = await containers.list({project})
  const facts = await Promise.all(
    listed.map(async (c): Promise<ContainerFacts | undefined> => {
      const details = await containers.inspect(c.id)
      if (!details) return undefined // removed meanwhile
      return {
        service: c.service,
        id: c.id,
        state: c.state,
        health: details.health?.status ?? c.health,
        exitCode: details.exitCode,
        restartCount: details.restartCount,
        error: details.error || undefined,
        startedAt: date(details.startedAtMs),
        finishedAt: date(details.finishedAtMs),
        dependsOn: parseDependsOn(c.labels['com.docker.compose.depends_on']),
        composeFiles: (c.labels['com.docker.compose.project.config_files'] ?? '').split(',').filter(Boolean),
        lastHealthCheck: details.health?.lastOutput || undefined,
        healthTest: details.health?.test,
        healthIntervalMs: details.health?.intervalMs,
        healthTimeoutMs: details.health?.timeoutMs,
        // Reading logs is the costly part: a wait polling every half second goes without.
        logTail: options.logs === false ? '' : await containers.logTail(c.id, LOG_LINES),
      }
    }),
  )
  return facts.filter((fact): fact is ContainerFacts => fact !== undefined)
}

/** Turns Compose's failure into the failing service and its reason, when a container shows one. */
export async function explainUnhealthy(
  ctx: StackContext,
  error: ProcessFailed | ProcessTimedOut,
): Promise<StackctlError> {
  const diagnosis = diagnoseStartup(await collectFacts(ctx.engine.containers, ctx.config.project), {
    now: new Date(),
    timeoutSeconds: ctx.config.timeoutSeconds,
    volume: ctx.config.volume,
    command: commandsFor(ctx.config),
  })
  if (!diagnosis) return error
  return new StackctlError([diagnosis.summary, ...diagnosis.details].join('\n'), {
    exitCode: 1,
    suggestion: diagnosis.suggestion,
    cause: error,
  })
}
