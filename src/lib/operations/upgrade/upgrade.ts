/**
 * `stackctl db upgrade --to MAJOR`: a PostgreSQL major upgrade that never touches the original volume. The
 * new volume is made and its free space checked first; then the API is stopped (no visit may land in the old
 * data after the backup), a backup and a ledger of every table are taken, the new major's server is initialised like the old one on a new volume, the new major's pg_dump
 * copies the data across, and the copy must match the ledger exactly before the stack is switched to it.
 * After the switch the API must record a visit in the copied data. Any failure, or Ctrl-C, before the switch
 * removes what the upgrade created and restarts the API on the old volume; a failure after it switches back.
 */

import {stackCommand} from '../../model/config/command-line.js'
import {DB_NAME, volumeName} from '../../model/config/stack-config.js'
import {readLedger, totalRows, type Ledger} from '../db/ledger.js'
import {Interrupted, StackctlError} from '../../errors.js'
import {checkInterrupted} from '../../cli/interrupt.js'
import {phaseRunner, StepRunner} from '../../plan/runner.js'
import type {Engine} from '../../engine/engine.js'
import type {StackContext} from '../../stack/context.js'
import type {ImageResolver} from '../../stack/images.js'
import {claimStack} from '../../stack/ownership.js'
import {readState, type StackState, type VolumeSwitch} from '../../model/stackdir/stack-files.js'
import {backupVolume} from '../backup-restore/backup.js'
import {serverVersion} from '../backup-restore/database.js'
import {
  assertRoom,
  assertSeparateStorage,
  clusterSettings,
  lines,
  preflight,
  removeLeftovers,
  verifyCopy,
  type Preflight,
} from './checks.js'
import {removeNewServer, startNewServer, type NewServer} from './new-server.js'
import {
  AVAILABLE_EXTENSIONS_SQL,
  copyScript,
  missingExtensions,
  newVolumeDriver,
  newVolumeLabels,
  newVolumeName,
  settingsDifferences,
  upgradeContainerName,
  type Method,
  STEPS,
  type Step,
} from './plan.js'
import {createNewVolume} from './new-volume.js'
import {proveServing, switchTo, updateState, type ServedVisit, type VolumeRef} from './switch.js'
import {stackFlagsHint} from './leftovers.js'
import {stopApi} from './api-hold.js'
import {makeRestorePoint, PointInterrupted, type RestorePoint} from '../protect/restore-point.js'

export interface UpgradeOptions {
  to: number
  method: Method
  /** Extra initdb options for the new cluster (after those that reproduce the old one). */
  initdbArgs: string[]
  /** Driver options of the new volume (like `docker volume create --opt`); default: the old volume's. */
  volumeOptions?: Record<string, string>
  /** Accept a new volume in memory (tmpfs), whose data does not survive a restart. */
  force?: boolean
  signal?: AbortSignal
  now?: () => Date
  /** The command's step runner (its display); without one, the steps are reported as ctx's phases. */
  steps?: StepRunner
}

export interface UpgradeResult {
  project: string
  method: Method
  from: VolumeRef & {version: string}
  to: VolumeRef & {version: string}
  backup: string
  tables: number
  rows: number
  visits: number
  /** The API's total after its check visit: visits + 1, more when users visited during the switch. */
  nextVisit: number
  superseded: string
  /**
   * The restore point made on the old major before anything changed (a stack that archives its WAL), or null.
   * After the switch the archive follows the new major (pgBackRest stanza-upgrade) and holds a full backup of
   * it; the old major's backups and WAL stay in the repository.
   */
  restorePoint: RestorePoint | null
  /** Seconds per step; null for a step this run did not reach (every key is always there). */
  steps: Record<Step, number | null>
  seconds: number
}

export async function upgradeStack(
  ctx: StackContext,
  resolver: ImageResolver,
  options: UpgradeOptions,
): Promise<UpgradeResult> {
  const started = Date.now()
  const now = options.now ?? (() => new Date())
  const old: VolumeRef = {volume: ctx.config.volume, pgMajor: ctx.config.pgMajor}
  const runner = options.steps ?? phaseRunner(ctx)
  runner.signal ??= options.signal
  let step: Step = 'pre-flight'
  const enter: Enter = (name, body) =>
    runner.step(
      name,
      () => {
        if (name !== 'switch back') step = name
        // The first step needs no line: the command has just been asked for.
        if (name !== 'pre-flight') ctx.progress(`upgrade: ${name}`)
        return body()
      },
      // From the switch on, a signal is answered once the switch (or the switch back) is complete.
      {shielded: name === 'switch' || name === 'API check' || name === 'switch back'},
    )

  let copied: Copied
  try {
    copied = await copyAndVerify(ctx, resolver, options, runner, enter, now)
  } catch (error) {
    // What the failed or interrupted step made is undone first, then the earlier steps' work, newest first.
    const undone = await runner.undo()
    throw failedBefore(error, step, undone, old, options.signal)
  }

  const result = await switchAndCheck(ctx, resolver, copied, options, now(), runner, enter)
  const steps = Object.fromEntries(
    STEPS.map((name) => {
      const ms = runner.record(name)?.ms
      return [name, ms === undefined ? null : ms / 1000]
    }),
  ) as Record<Step, number | null>
  // A switch is never left half done: a signal during it is answered once it is complete.
  checkInterrupted(
    options.signal,
    `the upgrade had already switched: the stack runs on ${result.to.volume} (PostgreSQL ${options.to}), verified`,
    `stackctl db rollback returns to ${old.volume}`,
  )
  return {...result, steps, seconds: (Date.now() - started) / 1000}
}

/** Runs one step of the upgrade (`upgrade: <step>` says it started) in the runner. */
type Enter = <T>(step: Step | 'switch back', body: () => Promise<T>) => Promise<T>

/** What the steps before the switch found and made: a verified copy on a new volume, not yet in use. */
interface Copied {
  preflight: Preflight
  restorePoint: RestorePoint | null
  volume: string
  backup: string
  before: Ledger
  visits: number
  /** The highest visit id copied: every visit above it was written after the switch. */
  maxVisitId: number
  newVersion: string
}

/** Every step up to the verified copy; each thing it makes is registered with `undo` first. */
async function copyAndVerify(
  ctx: StackContext,
  resolver: ImageResolver,
  options: UpgradeOptions,
  undo: StepRunner,
  enter: Enter,
  now: () => Date,
): Promise<Copied> {
  const {signal} = options
  const {pre, driver} = await enter('pre-flight', async () => {
    await ctx.engine.ping()
    await ctx.compose.assertV2()
    await claimStack(ctx, {adopt: ctx.adopt})
    const pre = await preflight(ctx, resolver, options)
    const driver = newVolumeDriver(pre.oldVolume, options.volumeOptions, options.force)
    if (driver.warning) ctx.progress(`warning: ${driver.warning}`)
    await removeLeftovers(ctx, pre)
    checkInterrupted(signal, 'nothing was changed')
    return {pre, driver}
  })

  const volume = await enter('new volume', () => newVolume(ctx, pre, driver, options, undo, now))

  const {backup, point} = await enter('backup', async () => {
    // After the new volume's checks (a refusal there makes no point for an upgrade that never ran), on the old
    // major, before the API stops: the data as it was stays reachable from the archive.
    const point = await makeRestorePoint(ctx, 'db upgrade', signal)
    await stopApi(ctx, undo, 'no visit may be written to the old data from now on')
    checkInterrupted(signal, 'before the backup')
    // Its own steps print inside this one.
    return {backup: await backupVolume({...ctx, phase: undo.phase}, {signal}), point}
  })

  const {before, visits, maxVisitId} = await enter('ledger', async () => {
    const before = await readLedger(pre.oldPsql)
    const visits = before.tables.find((t) => t.name === 'public.visits')?.rows ?? 0
    const maxVisitId = Number(await pre.oldPsql.query('SELECT coalesce(max(id), 0) FROM visits'))
    ctx.progress(`ledger: ${before.tables.length} tables, ${totalRows(before)} rows (${visits} visits)`)
    return {before, visits, maxVisitId}
  })

  const {server, newVersion} = await enter('new server', async () => {
    const server = await startServer(ctx, pre, volume, options, undo)
    const newSettings = await clusterSettings(server.psql)
    const differences = settingsDifferences(pre.settings, newSettings, options.initdbArgs)
    if (differences.length > 0) throw new StackctlError(`the new cluster differs: ${differences.join('; ')}`)
    const missing = missingExtensions(pre.extensions, lines(await server.psql.query(AVAILABLE_EXTENSIONS_SQL)))
    if (missing.length > 0) {
      throw new StackctlError(`PostgreSQL ${options.to} lacks extensions the database uses: ${missing.join(', ')}`, {
        suggestion: 'use an image of the new major that ships them',
      })
    }
    return {server, newVersion: (await serverVersion(server.psql, DB_NAME)).version}
  })

  await enter('copy', async () => {
    ctx.progress(
      `copying: PostgreSQL ${options.to}'s pg_dump of ${visits} visits from the PostgreSQL ${ctx.config.pgMajor} server into ${volume}`,
    )
    const copy = await ctx.engine.containers.exec(server.id, copyScript('db'), {signal}).catch(async (error) => {
      if (signal?.aborted || error instanceof Interrupted) throw error
      throw await serverStopped(ctx.engine, server, error)
    })
    if (copy.exitCode !== 0) {
      throw new StackctlError(`the copy failed (exit ${copy.exitCode}): ${lastLine(copy.stderr) || 'no message'}`, {
        suggestion: 'nothing was restored (one transaction); fix the cause in the old database and try again',
      })
    }
  })

  await enter('verify', async () => {
    await verifyCopy(server.psql, before)
    ctx.progress(`verified: the same ${before.tables.length} tables, row counts, checksums and sequences`)
    await removeNewServer(ctx.engine, server.id)
    undo.forget(`the new server ${server.name} removed`)
    checkInterrupted(signal, 'the copy was verified, the stack was not switched')
  })
  return {preflight: pre, restorePoint: point, volume, backup: backup.file, before, visits, maxVisitId, newVersion}
}

/** The new volume, made and labelled as this run's, checked for separate storage and room; undone on failure. */
async function newVolume(
  ctx: StackContext,
  pre: Preflight,
  driver: ReturnType<typeof newVolumeDriver>,
  options: UpgradeOptions,
  undo: StepRunner,
  now: () => Date,
): Promise<string> {
  const {project} = ctx.config
  const volume = await createNewVolume(ctx, undo, {
    name: await freeVolumeName(ctx.engine, project, options.to, pre.existingVolumes),
    driver: driver.driver,
    options: driver.options,
    labels: newVolumeLabels({
      stackId: ctx.state!.stackId,
      project,
      supersedes: ctx.config.volume,
      pgMajor: options.to,
      at: now(),
    }),
    runLabel: 'io.stackctl.upgrade-run',
    requested: options.volumeOptions !== undefined,
    command: 'db upgrade',
    hintCommand: stackCommand(ctx.config, `db upgrade --to ${options.to}`),
  })
  await assertSeparateStorage(ctx.engine, pre, volume)
  await assertRoom(ctx.engine, pre, volume)
  checkInterrupted(options.signal, 'before the backup')
  return volume
}

async function startServer(
  ctx: StackContext,
  pre: Preflight,
  volume: string,
  options: UpgradeOptions,
  undo: StepRunner,
): Promise<NewServer> {
  const name = upgradeContainerName(ctx.config.project, options.to)
  const what = `the new server ${name} removed`
  undo.onUndo(what, async () => {
    const [container] = await ctx.engine.containers.list({label: `io.stackctl.upgrade-of=${volume}`})
    if (container) await removeNewServer(ctx.engine, container.id)
  })
  return startNewServer(ctx.engine, {
    name,
    image: pre.image,
    pgMajor: options.to,
    volume,
    network: pre.network,
    passwordFile: ctx.paths.passwordFile,
    initdb: pre.initdb,
    labels: {
      'io.stackctl.stack-id': ctx.state!.stackId,
      'io.stackctl.project': ctx.config.project,
      'io.stackctl.upgrade-of': volume,
    },
    timeoutSeconds: ctx.config.timeoutSeconds,
    signal: options.signal,
  })
}

async function switchAndCheck(
  ctx: StackContext,
  resolver: ImageResolver,
  copied: Copied,
  options: UpgradeOptions,
  at: Date,
  runner: StepRunner,
  enter: Enter,
): Promise<Omit<UpgradeResult, 'steps' | 'seconds'>> {
  const old: VolumeRef = {volume: ctx.config.volume, pgMajor: ctx.config.pgMajor}
  const target: VolumeRef = {volume: copied.volume, pgMajor: options.to}
  const {pendingUpgrade: _pending, ...before} = ctx.state!
  const upgrade: VolumeSwitch = {
    kind: 'upgrade',
    from: old,
    to: target,
    at: at.toISOString(),
    visitsAtSwitch: copied.visits + 1,
    copiedMaxVisitId: copied.maxVisitId,
    backup: copied.backup,
  }
  const upgraded: StackState = {
    ...before,
    superseded: [
      ...(before.superseded ?? []).filter((s) => s.volume !== old.volume),
      {...old, supersededBy: target.volume, at: at.toISOString()},
    ],
    switches: [...(before.switches ?? []), upgrade],
  }
  let served: ServedVisit
  try {
    const next = await enter('switch', () => switchTo(ctx, resolver, target, upgraded, runner))
    served = await enter('API check', async () => {
      if (process.env.STACKCTL_TEST_FAIL_API_CHECK) {
        throw new StackctlError('the API check was made to fail (STACKCTL_TEST_FAIL_API_CHECK is set)')
      }
      const visit = await proveServing(next, {
        volume: target.volume,
        maxVisitId: copied.maxVisitId,
        visits: copied.visits,
      })
      // Rollback counts the visits above the copy except this one, stackctl's own.
      await updateState(ctx, (state) => ({
        ...state,
        switches: (state.switches ?? []).map((s) =>
          s.at === upgrade.at && s.to.volume === target.volume
            ? {...s, visitsAtSwitch: visit.total, checkVisitId: visit.id}
            : s,
        ),
      }))
      ctx.progress(
        `the API recorded visit ${visit.id} on PostgreSQL ${options.to}, in the copied data (all ${copied.visits} copied visits there)`,
      )
      return visit
    })
  } catch (error) {
    await switchBack(ctx, resolver, before, old, target, (error as Error).message, runner, enter)
  }
  return {
    project: ctx.config.project,
    method: options.method,
    from: {...old, version: copied.preflight.oldVersion},
    to: {...target, version: copied.newVersion},
    backup: copied.backup,
    tables: copied.before.tables.length,
    rows: totalRows(copied.before),
    visits: copied.visits,
    nextVisit: served!.total,
    superseded: old.volume,
    restorePoint: copied.restorePoint,
  }
}

/**
 * Back to the old volume, which nothing has written to since the API was stopped; the new one is kept. The
 * state starts from the one before the switch, with the compose file's hash the switch recorded when it wrote
 * the file: that file is stackctl's own, not edited by hand. Always throws: the upgrade failed.
 */
async function switchBack(
  ctx: StackContext,
  resolver: ImageResolver,
  before: StackState,
  old: VolumeRef,
  target: VolumeRef,
  reason: string,
  runner: StepRunner,
  enter: Enter,
): Promise<never> {
  ctx.progress(`the switch failed (${reason}); switching back to ${old.volume}`)
  const written = await readState(ctx.paths)
  const back: StackState = {
    ...before,
    composeSha256: written?.composeSha256 ?? before.composeSha256,
    passwordSha256: written?.passwordSha256 ?? before.passwordSha256,
    superseded: [
      ...(before.superseded ?? []).filter((s) => s.volume !== target.volume),
      {...target, supersededBy: old.volume, at: new Date().toISOString()},
    ],
  }
  try {
    await enter('switch back', () => switchTo(ctx, resolver, old, back, runner))
  } catch (backError) {
    throw await switchBackFailed(ctx, old, target, reason, (backError as Error).message)
  }
  throw new StackctlError(`db upgrade failed at step 'switch': ${reason}`, {
    suggestion: `the stack runs on ${old.volume} (PostgreSQL ${old.pgMajor}) again, as before; the copy is kept as ${target.volume} for inspection`,
  })
}

/** Where a stack whose switch back failed is now, as stack.json records it, and the command that returns it. */
async function switchBackFailed(
  ctx: StackContext,
  old: VolumeRef,
  target: VolumeRef,
  reason: string,
  backReason: string,
): Promise<StackctlError> {
  const state = await readState(ctx.paths).catch(() => undefined)
  const recorded = state?.settings.volume ?? volumeName(ctx.config.project)
  const flags = stackFlagsHint(ctx)
  const where =
    recorded === target.volume
      ? `stack.json records ${target.volume} (PostgreSQL ${target.pgMajor}), the upgraded copy; ${old.volume} (PostgreSQL ${old.pgMajor}) is unchanged: return to it with stackctl db rollback${flags}`
      : `stack.json records ${old.volume} (PostgreSQL ${old.pgMajor}) again, unchanged, but the stack may be stopped: start it with stackctl up${flags}; the copy is kept as ${target.volume}`
  return new StackctlError(
    `db upgrade failed at step 'switch': ${reason}; switching back to ${old.volume} failed too: ${backReason.split('\n')[0]}`,
    {suggestion: where},
  )
}

/** The first upgraded-volume name that no volume on the engine has, whoever made it. */
async function freeVolumeName(engine: Engine, project: string, major: number, known: Set<string>): Promise<string> {
  const taken = new Set(known)
  for (;;) {
    const name = newVolumeName(project, major, (candidate) => taken.has(candidate))
    if (!(await engine.volumes.inspect(name))) return name
    taken.add(name)
  }
}

function failedBefore(
  error: unknown,
  step: Step,
  undone: {done: string[]; failed: string[]},
  old: VolumeRef,
  signal: AbortSignal | undefined,
): StackctlError {
  const state =
    undone.failed.length === 0
      ? `the stack runs on ${old.volume} (PostgreSQL ${old.pgMajor}), unchanged${undone.done.length > 0 ? `; ${undone.done.join(', ')}` : ''}`
      : `the old volume ${old.volume} is unchanged, but these could not be undone: ${undone.failed.join(', ')}`
  if (error instanceof PointInterrupted) return error
  if (signal?.aborted || error instanceof Interrupted) {
    return new Interrupted(`db upgrade stopped at step '${step}'`, state)
  }
  const failure = error instanceof StackctlError ? error : undefined
  const message = failure?.message ?? (error instanceof Error ? error.message : String(error))
  if (step === 'pre-flight' && failure) {
    return new StackctlError(message, {
      exitCode: failure.exitCode,
      suggestion: `${failure.suggestion ?? 'nothing was changed'}`,
    })
  }
  return new StackctlError(`db upgrade failed at step '${step}': ${message.split('\n')[0]}`, {
    exitCode: failure?.exitCode ?? 1,
    suggestion: `${failure?.suggestion ? `${failure.suggestion}; ` : ''}${state}`,
  })
}

/** The engine's refusal to run a process in a server that stopped, told as what happened to the server. */
async function serverStopped(engine: Engine, server: NewServer, error: unknown): Promise<StackctlError> {
  const details = await engine.containers.inspect(server.id).catch(() => undefined)
  if (details?.running) return new StackctlError(`the copy could not be started: ${(error as Error).message}`)
  const log = details ? await engine.containers.logTail(server.id, 5).catch(() => '') : ''
  return new StackctlError(
    `the new server ${server.name} stopped during the copy (exit ${details?.exitCode ?? 'unknown'}): ${lastLine(log) || 'no message'}`,
  )
}

function lastLine(text: string): string {
  return lines(text).findLast((line) => /error|fatal/i.test(line)) ?? lines(text).at(-1) ?? ''
}
