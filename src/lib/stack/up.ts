/**
 * `stackctl up`: render, check the port, start through Compose and wait until both services are healthy.
 * On a running, healthy, unchanged stack Compose would do nothing, so it is not even asked (up-to-date.ts).
 * When a service does not become healthy the containers are left for inspection; the volume is never touched.
 */
import {canBind} from '../net/ports.js'
import {runningService} from '../engine/services.js'
import {EnvironmentError, Interrupted, ProcessFailed} from '../errors.js'
import {readOptional, sha256} from '../files.js'
import type {StackContext} from './context.js'
import {explainUnhealthy} from './diagnose.js'
import type {ImageResolver} from './images.js'
import {checkPasswordAgainstServer} from './password.js'
import {passwordMismatch, recordVerifiedPassword, renderStack} from './render-stack.js'
import {assertVolumeMatchesPgMajor} from './version-guard.js'
import {stackExposure, stackStatus, type StackStatus} from './status.js'
import {stackUpToDate} from './up-to-date.js'

export interface UpOptions {
  build?: boolean
  force?: boolean
  /** Development mode: run the API from this source directory (a working tree's src/api). */
  devSource?: string
  /** Aborted on Ctrl-C: Compose is stopped gracefully and up ends with Interrupted. */
  signal?: AbortSignal
  /** Keep a terminal's Ctrl-C away from Compose: for relaunches that must finish (verify-persistence). */
  shield?: boolean
}

export interface UpResult extends StackStatus {
  images: {source: string; postgres: string; node: string}
  seconds: number
}

export async function upStack(ctx: StackContext, resolver: ImageResolver, options: UpOptions = {}): Promise<UpResult> {
  const started = Date.now()
  await ctx.engine.ping()
  await ctx.compose.assertV2()
  await assertPortFree(ctx)
  if (!(await dbRunning(ctx))) await assertVolumeMatchesPgMajor(ctx)
  const rendered = await renderStack(ctx, resolver, {force: options.force, devSource: options.devSource})
  ctx.progress(rendered.imageReason)
  for (const {flag, value} of ctx.remembered) {
    ctx.progress(`using ${flag} ${value} remembered from the last run (pass ${flag} to change it)`)
  }
  for (const warning of await stackExposure(ctx)) ctx.progress(`warning: ${warning}`)
  if (rendered.password === 'unverified') await provePassword(ctx, options.signal)

  if (!options.build && (await stackUpToDate(ctx, rendered.composeText))) {
    ctx.progress('running, healthy and unchanged: nothing for Compose to do')
    return {...(await stackStatus(ctx)), images: rendered.images, seconds: (Date.now() - started) / 1000}
  }
  try {
    await ctx.compose.up(
      {build: options.build, waitTimeoutSeconds: ctx.config.timeoutSeconds},
      {onLine: (line) => ctx.progress(line), signal: options.signal, shield: options.shield},
    )
  } catch (error) {
    if (error instanceof Interrupted) {
      throw new Interrupted(
        `stack '${ctx.config.project}' may be partly started`,
        `run stackctl up again to finish starting it, or stackctl down to stop it; the volume ${ctx.config.volume} was not touched`,
      )
    }
    if (error instanceof ProcessFailed) throw await explainUnhealthy(ctx, error)
    throw error
  }
  const status = await stackStatus(ctx)
  return {...status, images: rendered.images, seconds: (Date.now() - started) / 1000}
}

/**
 * The volume exists, the db is stopped and nothing on record vouches for the password file (stack.json was
 * re-attached, say): start the db alone and check the file against its verifier before the API is started
 * with it. On a mismatch the db is stopped again and nothing else changes.
 */
async function provePassword(ctx: StackContext, signal: AbortSignal | undefined): Promise<void> {
  const content = (await readOptional(ctx.paths.passwordFile)) ?? ''
  ctx.progress('checking the password file against the database in the volume')
  await ctx.compose.up(
    {waitTimeoutSeconds: ctx.config.timeoutSeconds, services: ['db']},
    {onLine: (line) => ctx.progress(line), signal},
  )
  const check = await checkPasswordAgainstServer(ctx, content)
  if (check === 'mismatch') {
    // The stack was not running (its db was stopped): leave it so, network included. The volume stays.
    await ctx.compose.down({}, {onLine: (line) => ctx.progress(line), shield: true})
    throw passwordMismatch(ctx, 'the database in the volume')
  }
  if (check === 'match') await recordVerifiedPassword(ctx, sha256(content))
}

/** Fails before starting anything when the host port is taken by something other than this stack's app. */
async function assertPortFree(ctx: StackContext): Promise<void> {
  const {host, port, project} = ctx.config
  if (await canBind(host, port)) return
  const ours = (await ctx.engine.containers.list({project})).some((c) =>
    c.ports.some((p) => p.hostPort === port && c.service === 'app'),
  )
  if (ours) return
  const [holder] = (await ctx.engine.containers.list({publishes: port, runningOnly: true})).map((c) => c.name)
  throw new EnvironmentError(
    `port ${port} on ${host} is already in use${holder ? ` by container ${holder}` : ''}`,
    `choose another with --port or STACKCTL_PORT${holder ? `, or stop ${holder}` : ''}`,
  )
}

/** A running db of this stack was started on this volume already, so its layout needs no second look. */
async function dbRunning(ctx: StackContext): Promise<boolean> {
  return (await runningService(ctx.engine, ctx.config.project, 'db')) !== undefined
}
