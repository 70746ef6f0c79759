import {homedir} from 'node:os'

import {appUrl} from '../model/config/stack-config.js'
import {serviceMode} from '../engine/services.js'
import {readOptional} from '../model/stackdir/files.js'
import type {SupersededReport} from '../model/stackdir/stack-files.js'
import type {StackContext} from './context.js'
import {exposureWarnings} from '../targets/compose/exposure.js'
import {confirmHealthNow} from '../targets/compose/readiness.js'
import {lastHealthChecks} from './status-health.js'
import {publishedDbUrl} from '../operations/db/url.js'
import {claimStack} from './ownership.js'
import {restoreLeftoverProblems, type LeftoverCheck} from '../operations/backup-restore/restore-leftovers.js'
import {type CommandFor, commandsFor, plainCommand} from '../model/config/command-line.js'
import type {CheckResult} from '../operations/doctor/checks.js'
import {archivingStatus, type ArchivingStatus} from '../operations/protect/health.js'
import {scheduleCheck} from '../operations/protect/schedule.js'

export interface StackStatus {
  project: string
  url: string
  /** The database's URL for host tools (never with the password) when the running db publishes a port, else null. */
  dbUrl: string | null
  /** How the app runs: the built image (normal) or the working tree (dev); null when it is not there. */
  mode: 'normal' | 'dev' | null
  services: Array<{name: string; state: string; health: string}>
  /** The active volume and its PostgreSQL major; superseded: the volumes it ran on before (db upgrade). */
  volume: {name: string; exists: boolean; pgMajor: number; superseded: SupersededReport[]}
  /** What the stack exposes beyond this machine (a non-loopback host, a published database port). */
  warnings: string[]
  /** The settings in force (flags, environment, what the stack directory remembers). */
  settings: {host: string; port: number; dbPort: number | null; pgMajor: number; imageSource: string}
  /** What is wrong with a stack that was started (a service stopped, unhealthy or missing), with what to run. */
  problems: string[]
  /** WAL archiving's health, as doctor judges it; null when the stack does not archive its WAL or it was not asked. */
  archiving: ArchivingStatus | null
  /** The scheduled backups, as doctor's `backups` check judges them; null where `archiving` is, or the db is not running. */
  backups: ArchivingStatus | null
}

type ServiceState = StackStatus['services'][number]

/**
 * Pure: the problems of a stack from its services' states. A stack with no containers at all is simply not
 * started (no problem); one with some is expected to run whole and healthy.
 */
export function stackProblems(
  services: readonly ServiceState[],
  command: CommandFor = plainCommand,
  lastChecks: ReadonlyMap<string, string> = new Map(),
  probed: ReadonlyMap<string, string> = new Map(),
): string[] {
  if (services.every((s) => s.state === 'absent')) return []
  // Stopped as a whole (stackctl stop, a reboot): the same containers start again.
  if (SERVICES.every((name) => services.find((s) => s.name === name)?.state === 'exited'))
    return [`the stack is stopped: run ${command('start')} to start it`]
  const problems: string[] = []
  // A service still starting beside one that is down is waiting on it (the app answers 503 while its db is
  // stopped): the one that is down is the problem to name.
  const oneIsDown = services.some((s) => s.state !== 'running')
  for (const s of services) {
    if (s.state === 'absent') problems.push(`${s.name} has no container: run ${command('up')}`)
    else if (s.state !== 'running') {
      problems.push(
        `${s.name} is ${s.state}: run ${command('up')} to start it (${command(`logs ${s.name}`)} says why it stopped)`,
      )
    } else if (s.health === 'unhealthy') {
      // stackctl's probe just now, where it found the service not answering; else what the engine's check said.
      const now = probed.get(s.name)
      const said = lastChecks.get(s.name)
      const why = now ? ` (stackctl's probe just now: ${now})` : said ? ` (last health check: ${said})` : ''
      problems.push(`${s.name} is running but unhealthy${why}: see ${command(`logs ${s.name}`)}`)
    } else if (s.health === 'starting' && !oneIsDown) problems.push(`${s.name} is still starting`)
  }
  return problems
}

export const SERVICES = ['db', 'app'] as const

/**
 * `archiving`: also judge WAL archiving (commands in the db); only what shows it asks, not the polls of
 * verify-persistence or open. Without it `archiving` is null.
 */
export async function stackStatus(
  ctx: StackContext,
  options: {archiving?: boolean; leftovers?: LeftoverCheck} = {},
): Promise<StackStatus> {
  await ctx.engine.ping()
  const {project} = ctx.config
  // Another stack's containers under this project name are not this stack's status.
  const claim = await claimStack(ctx)
  // The engine's checks run once a minute: stackctl's own probe answers for `starting`, and asks a `healthy`
  // stack once more (confirmHealthNow).
  const {containers, reasons} = await confirmHealthNow(await ctx.engine.containers.list({project}), ctx)
  const services = SERVICES.map((name) => {
    const container = containers.find((c) => c.service === name)
    return {name, state: container?.state ?? 'absent', health: container?.health ?? 'none'}
  })
  const app = containers.find((c) => c.service === 'app')
  return {
    project,
    url: appUrl(ctx.config),
    dbUrl: publishedDbUrl(containers.find((c) => c.service === 'db' && c.state === 'running')),
    mode: app ? (serviceMode(app) === 'dev' ? 'dev' : 'normal') : null,
    services,
    volume: {
      name: ctx.config.volume,
      exists: claim.report.volume !== 'none',
      pgMajor: ctx.config.pgMajor,
      superseded: await supersededVolumes(ctx),
    },
    warnings: await stackExposure(ctx),
    problems: [
      ...stackProblems(
        services,
        commandsFor(ctx.config),
        await lastHealthChecks(ctx.engine.containers, containers),
        reasons,
      ),
      ...(options.leftovers === 'clean' ? [] : await restoreLeftoverProblems(ctx)),
    ],
    archiving: options.archiving ? await archivingStatus(ctx) : null,
    backups: options.archiving ? asStatus(await scheduleCheck(ctx)) : null,
    settings: {
      host: ctx.config.host,
      port: ctx.config.port,
      dbPort: ctx.config.dbPort ?? null,
      pgMajor: ctx.config.pgMajor,
      imageSource: ctx.config.imageSource,
    },
  }
}

export function isHealthy(status: StackStatus): boolean {
  return status.services.every((s) => s.state === 'running' && s.health === 'healthy')
}

/** The warnings about what the stack exposes beyond this machine. */
export async function stackExposure(ctx: StackContext): Promise<string[]> {
  const override = ctx.compose.target.overrideFiles?.[0]
  const text = override ? await readOptional(override) : undefined
  return exposureWarnings(ctx.config, text, {dir: ctx.compose.target.projectDirectory, home: homedir()})
}

/** The volumes this stack ran on before `db upgrade` or `db rollback` switched it, as stack.json records them. */
export async function supersededVolumes(ctx: StackContext): Promise<SupersededReport[]> {
  const entries = (ctx.state?.superseded ?? []).filter((s) => s.volume !== ctx.config.volume)
  return Promise.all(
    entries.map(async (s) => ({...s, exists: (await ctx.engine.volumes.inspect(s.volume)) !== undefined})),
  )
}

function asStatus(check: CheckResult | undefined): ArchivingStatus | null {
  return check ? {status: check.status, detail: check.detail, fix: check.fix ?? null} : null
}
