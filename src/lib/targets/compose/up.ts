/**
 * `stackctl up`: render, check the port, start through Compose and wait until both services are healthy
 * (stackctl waits itself, see wait-healthy.ts).
 * The project is observed once (plan/observe.ts) and planned (plan/up.ts): on a running, healthy, unchanged
 * stack the plan is empty and Compose is not even asked (up-to-date.ts says what Compose would create now).
 * When a service does not become healthy the containers are left for inspection; the volume is never touched.
 */
import {portUse, stackPorts, takenBy} from '../../stack/port.js'
import {countedVisits} from '../../operations/db/visits.js'
import {runningService} from '../../engine/services.js'
import {EnvironmentError, Interrupted, ProcessFailed, ProcessTimedOut} from '../../errors.js'
import {engineName, rlimitFailure, ulimitsFix} from '../../engine/capabilities.js'
import {readOptional, sha256} from '../../model/stackdir/files.js'
import {restoringStackDir, snapshotStackDir} from '../../model/stackdir/dir-snapshot.js'
import type {StackContext} from '../../stack/context.js'
import {collectFacts, explainUnhealthy} from './diagnose.js'
import type {ImageResolver} from '../../stack/images.js'
import {checkPasswordAgainstServer} from '../../stack/password.js'
import {passwordMismatch, recordVerifiedPassword, renderStack} from '../../stack/render-stack.js'
import {assertVolumeMatchesPgMajor} from './version-guard.js'
import {stackExposure, stackStatus, type StackStatus} from '../../stack/status.js'
import {desiredUp} from './up-to-date.js'
import {findProject, interruptedUp, putBack, type FoundProject} from './up-undo.js'
import {newWaitMemory, waitServicesReady, waitStackHealthy} from './wait-healthy.js'
import {confirmReadiness} from './readiness.js'
import {
  findRestoreLeftovers,
  repairRestoreLeftovers,
  type LeftoverCheck,
} from '../../operations/backup-restore/restore-leftovers.js'
import {observeProject, type Observation} from '../../plan/observe.js'
import {describeStep} from '../../plan/steps.js'
import {planUp} from '../../plan/up.js'
import {afterReady, beforeStart} from '../../operations/protect/archive.js'

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
  /** The API's total of visits in the volume (its counter); null when it cannot be read. */
  visits: number | null
  /** The stack directory (compose file, password file, stack.json). */
  dir: string
}

export async function upStack(ctx: StackContext, resolver: ImageResolver, options: UpOptions = {}): Promise<UpResult> {
  const started = Date.now()
  ctx.phase('check engine, port and volume')
  const live = ctx.engine
  // The one look at the project this command takes (plan/observe.ts), once the engine answers at all.
  const observing = live.ping().then(() => observeProject(live, ctx.config.project))
  const compose = composeCheck(ctx)
  const [observed, port] = await Promise.allSettled([observing, assertPortFree(ctx)])
  // The earliest failure in the order engine, Compose, port, whatever the timing: as when all three were awaited.
  if (observed.status === 'rejected') throw observed.reason
  if (port.status === 'rejected') await compose.failWith(port.reason)
  const observation = await observing
  ctx.engine = observation.engine // what up and the functions it calls read answer from the snapshot
  try {
    return await upObserved(ctx, resolver, options, observation, started, compose)
  } finally {
    ctx.engine = live
  }
}

/**
 * Compose's version check is a process of its own (about 0.1 s, more on a busy machine), so it runs alongside the
 * steps that only read, with the outcome of running it first: `passed` is awaited before anything is built,
 * pulled, written or created and before Compose runs, and a step that ran alongside it fails through `failWith`,
 * which reports a failed check instead.
 */
interface ComposeCheck {
  passed: Promise<unknown>
  failWith(error: unknown): Promise<never>
}

function composeCheck(ctx: StackContext): ComposeCheck {
  const passed = ctx.compose.assertV2()
  passed.catch(() => {}) // each use awaits it, and its failure is reported there
  const failWith = async (error: unknown): Promise<never> => {
    await passed
    throw error
  }
  return {passed, failWith}
}

async function upObserved(
  ctx: StackContext,
  resolver: ImageResolver,
  options: UpOptions,
  observation: Observation,
  started: number,
  compose: ComposeCheck,
): Promise<UpResult> {
  // What a killed restore left, looked for now (only read) and repaired below once the stack is rendered.
  const earlyLook = findRestoreLeftovers(ctx)
  earlyLook.catch(() => {}) // awaited below
  if (!(await dbRunning(ctx))) await assertVolumeMatchesPgMajor(ctx).catch(compose.failWith)
  ctx.phase('render and images')
  const asFound = await snapshotStackDir(ctx.paths) // an up refused before it starts anything writes nothing
  // The render's builds and pulls (minutes, and a change) wait for the check; its reads do not.
  const gated: ImageResolver = {
    engine: resolver.engine,
    pull: async (reference) => (await compose.passed, resolver.pull(reference)),
    buildLocal: async (pgMajor) => (await compose.passed, resolver.buildLocal(pgMajor)),
  }
  const rendered = await renderStack(ctx, gated, {force: options.force, devSource: options.devSource})
    .catch(compose.failWith)
    .catch(restoringStackDir(asFound))
  await compose.passed.catch(restoringStackDir(asFound)) // from here on things are created and Compose runs
  ctx.progress(rendered.imageReason)
  for (const {flag, value} of ctx.remembered) {
    ctx.progress(`using ${flag} ${value} remembered from the last run (pass ${flag} to change it)`)
  }
  for (const warning of await stackExposure(ctx)) ctx.progress(`warning: ${warning}`)
  await beforeStart(ctx, rendered.walArchive)
  const found = await findProject(ctx) // what a Ctrl-C puts back (up-undo.ts)
  if (rendered.password === 'unverified') {
    observation.invalidate() // the db is started alone to prove the password
    ctx.phase('check the password file')
    await provePassword(ctx, found, options.signal).catch(async (error: unknown) => {
      return restoringStackDir(asFound)(error instanceof Interrupted ? await interruptedUp(ctx, found) : error)
    })
  }

  // A running db: before judging the stack up to date. The early look holds while nothing has changed the project.
  const repaired = await repairRestoreLeftovers(ctx, observation.current ? await earlyLook : undefined)
  const observed = observation.current ? observation.snapshot : await observation.refresh()
  // The engine's first check runs 60 s after start: a stack that answers stackctl's probe is healthy now.
  const snapshot = {...observed, containers: await confirmReadiness(observed.containers, ctx)}
  const plan = planUp(snapshot, await desiredUp(ctx, rendered.composeText, snapshot, {build: options.build}))
  for (const step of plan) ctx.detail(`plan: ${describeStep(step)}`)
  if (plan.length === 0) {
    ctx.progress('running, healthy and unchanged: nothing for Compose to do')
    // Only read, and nothing changes the containers from here: counted while afterReady's execs run.
    const counting = countedVisits(ctx.engine, ctx.config.project).catch(() => undefined)
    await afterReady(ctx, rendered.walArchive, options.signal)
    return summary(ctx, rendered.images, started, repaired.check, counting)
  }
  const {project, timeoutSeconds} = ctx.config
  const build = plan.some((step) => step.kind === 'build-image')
  const memory = newWaitMemory(await collectFacts(ctx.engine.containers, project, {logs: false}))
  observation.invalidate() // Compose changes the project from here on: every look is a new one
  let leftovers: LeftoverCheck
  try {
    ctx.phase(build ? 'build and start containers' : 'start containers')
    // One `docker compose up` runs the plan's create, recreate and start steps in dependency order.
    await ctx.compose.up(
      {build, wait: false, waitTimeoutSeconds: timeoutSeconds, classicBuilder: await onPodman(ctx)},
      {
        onLine: (line) => ctx.detail(line),
        signal: options.signal,
        shield: options.shield,
        // Compose itself waits for the db's health before it starts the app (depends_on); a build has no bound.
        timeoutMs: build ? undefined : timeoutSeconds * 1000,
      },
    )
    // With archiving on, afterReady's one question to the db also wakes archive_timeout.
    leftovers = await waitStackHealthy(ctx, memory, options.signal, {wake: !rendered.walArchive.on})
  } catch (error) {
    if (error instanceof Interrupted) throw await interruptedUp(ctx, found)
    if (error instanceof ProcessFailed && rlimitFailure(error.stderr)) throw await ulimitsRefused(ctx, error)
    if (error instanceof ProcessFailed || error instanceof ProcessTimedOut) throw await explainUnhealthy(ctx, error)
    throw error
  }
  await afterReady(ctx, rendered.walArchive, options.signal)
  await observation.refresh() // the summary reads the stack as it is now, in one listing
  return summary(ctx, rendered.images, started, leftovers)
}

async function summary(
  ctx: StackContext,
  images: UpResult['images'],
  started: number,
  leftovers: LeftoverCheck,
  counting: Promise<number | undefined> = countedVisits(ctx.engine, ctx.config.project),
): Promise<UpResult> {
  // Archiving is judged by status and doctor, not here: its commands in the db would slow every up. What a killed
  // restore left was looked for by this up, under the stack's lock: a clean look is not repeated.
  const [status, counted] = await Promise.all([stackStatus(ctx, {leftovers}), counting])
  const visits = counted ?? null
  return {...status, images, seconds: (Date.now() - started) / 1000, visits, dir: ctx.paths.dir}
}

/**
 * The volume exists, the db is stopped and nothing on record vouches for the password file (stack.json was
 * re-attached, say): start the db alone and check the file against its verifier before the API is started
 * with it. On a mismatch the db is stopped again and nothing else changes.
 */
async function provePassword(ctx: StackContext, found: FoundProject, signal: AbortSignal | undefined): Promise<void> {
  const content = (await readOptional(ctx.paths.passwordFile)) ?? ''
  ctx.progress('checking the password file against the database in the volume')
  const memory = newWaitMemory(await collectFacts(ctx.engine.containers, ctx.config.project, {logs: false}))
  await ctx.compose.up(
    {wait: false, waitTimeoutSeconds: ctx.config.timeoutSeconds, services: ['db']},
    {onLine: (line) => ctx.detail(line), signal},
  )
  await waitServicesReady(ctx, ['db'], memory, signal)
  const check = await checkPasswordAgainstServer(ctx, content)
  if (check === 'mismatch') {
    // The stack was not running (its db was stopped): leave it so, network included. The volume stays.
    if (!(await putBack(ctx, found))) await ctx.compose.stop(['db'], {onLine: (line) => ctx.detail(line), shield: true})
    throw passwordMismatch(ctx, 'the database in the volume')
  }
  if (check === 'match') await recordVerifiedPassword(ctx, sha256(content))
}

/** Fails before starting anything when a host port is taken by something other than this stack's own service. */
async function assertPortFree(ctx: StackContext): Promise<void> {
  const {project} = ctx.config
  for (const {service, host, port, flag, env} of stackPorts(ctx.config)) {
    const use = await portUse(ctx.engine, {host, port, project, service})
    if (use.state !== 'taken') continue
    const {holder} = use
    const what = service === 'db' ? `for the database (${flag} ${port})` : ''
    throw new EnvironmentError(
      `port ${port} on ${host} ${what ? `${what} ` : ''}is already in use${takenBy(use)}`,
      `choose another with ${flag} or ${env}${service === 'db' ? `, or pass ${flag} none` : ''}${holder ? `, or stop ${holder}` : ''}`,
    )
  }
}

/** A running db of this stack was started on this volume already, so its layout needs no second look. */
async function dbRunning(ctx: StackContext): Promise<boolean> {
  return (await runningService(ctx.engine, ctx.config.project, 'db')) !== undefined
}

/** The engine cannot start any container with its ulimits: no diagnosis of a service would say why. */
async function ulimitsRefused(ctx: StackContext, error: ProcessFailed): Promise<EnvironmentError> {
  const engine = await ctx.engine.describe()
  return new EnvironmentError(
    `${engineName(engine)} cannot start containers: its default ulimits exceed this host's hard limits (${rlimitFailure(error.stderr)})`,
    ulimitsFix(engine),
    error,
  )
}

/** Podman answers Docker's API but has no BuildKit: Compose must build with the classic builder there. */
async function onPodman(ctx: StackContext): Promise<boolean> {
  return (await ctx.engine.describe()).kind === 'podman'
}
