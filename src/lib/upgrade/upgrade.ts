/**
 * `stackctl db upgrade --to MAJOR`: a PostgreSQL major upgrade that never touches the original volume. The
 * new volume is made and its free space checked first; then the API is stopped (no visit may land in the old
 * data after the backup), a backup and a ledger of every table are taken, the new major's server is initialised like the old one on a new volume, the new major's pg_dump
 * copies the data across, and the copy must match the ledger exactly before the stack is switched to it.
 * After the switch the API must record the next visit. Any failure, or Ctrl-C, before the switch removes what
 * the upgrade created and restarts the API on the old volume; a failure after it switches back.
 */
import createDebug from 'debug'

import {DB_NAME} from '../config/stack-config.js'
import {compareLedgers, readLedger, totalRows, type Ledger} from '../db/ledger.js'
import {Psql} from '../db/psql.js'
import type {Engine} from '../engine/engine.js'
import {Interrupted, StackctlError, UsageError} from '../errors.js'
import {checkInterrupted} from '../interrupt.js'
import {LOCAL_PG_MAJORS} from '../images/stack-images.js'
import type {StackContext} from '../stack/context.js'
import {resolveImages, type ImageResolver} from '../stack/images.js'
import {claimStack} from '../stack/ownership.js'
import type {StackState} from '../stackdir/stack-files.js'
import {backupVolume} from '../volume/backup.js'
import {runningDb, serverVersion} from '../volume/database.js'
import {formatBytes} from '../volume/format.js'
import {judgeSchema, parseSchemaReport, SCHEMA_REPORT_SQL} from '../volume/schema.js'
import {removeNewServer, startNewServer, type NewServer} from './new-server.js'
import {
  assertTarget,
  AVAILABLE_EXTENSIONS_SQL,
  CLUSTER_SETTINGS_SQL,
  copyScript,
  EXTENSIONS_SQL,
  initdbArgs,
  LOCALE_PROVIDER_SQL,
  missingExtensions,
  newVolumeLabels,
  newVolumeName,
  parseAvailable,
  parseClusterSettings,
  requiredBytes,
  settingsDifferences,
  upgradeContainerName,
  type ClusterSettings,
  type Method,
  type Step,
} from './plan.js'
import {switchTo, updateState, visitThroughApi, type VolumeRef} from './switch.js'

const debug = createDebug('stackctl:upgrade')

export interface UpgradeOptions {
  to: number
  method: Method
  /** Extra initdb options for the new cluster (after those that reproduce the old one). */
  initdbArgs: string[]
  /** Driver options of the new volume (like `docker volume create --opt`); default: the old volume's. */
  volumeOptions?: Record<string, string>
  signal?: AbortSignal
  now?: () => Date
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
  /** The visit the API recorded after the switch: visits + 1. */
  nextVisit: number
  superseded: string
  /** Seconds per step. */
  steps: Partial<Record<Step, number>>
  seconds: number
}

/** What an upgrade created so far, undone in reverse order when it fails before the switch. */
class Undo {
  private readonly tasks: Array<{what: string; run: () => Promise<unknown>}> = []

  push(what: string, run: () => Promise<unknown>): void {
    this.tasks.push({what, run})
  }

  drop(what: string): void {
    const index = this.tasks.findIndex((task) => task.what === what)
    if (index >= 0) this.tasks.splice(index, 1)
  }

  /** Runs every task, newest first; resolves what was done and what could not be. */
  async run(progress: (line: string) => void): Promise<{done: string[]; failed: string[]}> {
    const done: string[] = []
    const failed: string[] = []
    while (this.tasks.length > 0) {
      const task = this.tasks.pop()!
      try {
        await task.run()
        done.push(task.what)
      } catch (error) {
        progress(`could not undo: ${task.what} (${(error as Error).message})`)
        failed.push(task.what)
      }
    }
    return {done, failed}
  }
}

export async function upgradeStack(
  ctx: StackContext,
  resolver: ImageResolver,
  options: UpgradeOptions,
): Promise<UpgradeResult> {
  const started = Date.now()
  const now = options.now ?? (() => new Date())
  const {signal} = options
  const {project} = ctx.config
  const old: VolumeRef = {volume: ctx.config.volume, pgMajor: ctx.config.pgMajor}
  const steps: Partial<Record<Step, number>> = {}
  let step: Step = 'pre-flight'
  let stepStarted = Date.now()
  const enter = (next: Step) => {
    steps[step] = (Date.now() - stepStarted) / 1000
    step = next
    stepStarted = Date.now()
    ctx.progress(`upgrade: ${next}`)
  }
  const undo = new Undo()

  let prepared: Prepared
  try {
    await ctx.engine.ping()
    await ctx.compose.assertV2()
    await claimStack(ctx, {adopt: ctx.adopt})
    prepared = await preflight(ctx, resolver, options)
    await removeLeftovers(ctx, prepared)
    checkInterrupted(signal, 'nothing was changed')

    enter('new volume')
    const volume = newVolumeName(project, options.to, (name) => prepared.existingVolumes.has(name))
    prepared.volume = volume
    await updateState(ctx, (state) => ({...state, pendingUpgrade: {volume}}))
    undo.push(`the new volume ${volume} removed`, async () => {
      await ctx.engine.volumes.remove(volume)
      await updateState(ctx, ({pendingUpgrade: _pending, ...state}) => state)
    })
    await ctx.engine.volumes.create({
      name: volume,
      labels: newVolumeLabels({
        stackId: ctx.state!.stackId,
        project,
        supersedes: old.volume,
        pgMajor: options.to,
        at: now(),
      }),
      driver: options.volumeOptions ? 'local' : prepared.oldDriver.driver,
      driverOptions: options.volumeOptions ?? prepared.oldDriver.options,
    })
    await assertRoom(ctx.engine, prepared, volume)
    checkInterrupted(signal, 'before the backup')

    enter('backup')
    ctx.progress('stopping the API: no visit may be written to the old data from now on')
    undo.push('the API restarted on the old volume', () => restartApi(ctx))
    await ctx.compose.stop(['app'], {onLine: (line) => debug(line), shield: true})
    checkInterrupted(signal, 'before the backup')
    const backup = await backupVolume(ctx, {signal})
    prepared.backup = backup.file

    enter('ledger')
    prepared.before = await readLedger(prepared.oldPsql)
    prepared.visits = prepared.before.tables.find((t) => t.name === 'public.visits')?.rows ?? 0
    ctx.progress(
      `ledger: ${prepared.before.tables.length} tables, ${totalRows(prepared.before)} rows (${prepared.visits} visits)`,
    )

    enter('new server')
    const server = await startServer(ctx, prepared, prepared.volume, options, undo)
    const newSettings = await clusterSettings(server.psql)
    const differences = settingsDifferences(prepared.settings, newSettings, options.initdbArgs)
    if (differences.length > 0) throw new StackctlError(`the new cluster differs: ${differences.join('; ')}`)
    const available = lines(await server.psql.query(AVAILABLE_EXTENSIONS_SQL))
    const missing = missingExtensions(prepared.extensions, available)
    if (missing.length > 0) {
      throw new StackctlError(`PostgreSQL ${options.to} lacks extensions the database uses: ${missing.join(', ')}`, {
        suggestion: 'use an image of the new major that ships them',
      })
    }
    const newVersion = (await serverVersion(server.psql, DB_NAME)).version

    enter('copy')
    ctx.progress(
      `copying: PostgreSQL ${options.to}'s pg_dump of ${prepared.visits} visits from the PostgreSQL ${old.pgMajor} server into ${volume}`,
    )
    const copy = await ctx.engine.containers.exec(server.id, copyScript('db'), {signal})
    if (copy.exitCode !== 0) {
      throw new StackctlError(`the copy failed (exit ${copy.exitCode}): ${lastLine(copy.stderr) || 'no message'}`, {
        suggestion: 'nothing was restored (one transaction); fix the cause in the old database and try again',
      })
    }

    enter('verify')
    await verifyCopy(server.psql, prepared.before)
    ctx.progress(`verified: the same ${prepared.before.tables.length} tables, row counts, checksums and sequences`)
    await removeNewServer(ctx.engine, server.id)
    undo.drop(`the new server ${server.name} removed`)
    checkInterrupted(signal, 'the copy was verified, the stack was not switched')
    prepared.newVersion = newVersion
  } catch (error) {
    const undone = await undo.run(ctx.progress)
    throw failedBefore(error, step, undone, old, signal)
  }

  enter('switch')
  const result = await switchAndCheck(ctx, resolver, prepared as Required<Prepared>, options, now(), enter)
  steps[step] = (Date.now() - stepStarted) / 1000
  // A switch is never left half done: a signal during it is answered once it is complete.
  checkInterrupted(
    signal,
    `the upgrade had already switched: the stack runs on ${result.to.volume} (PostgreSQL ${options.to}), verified`,
    `stackctl db rollback returns to ${old.volume}`,
  )
  return {...result, steps, seconds: (Date.now() - started) / 1000}
}

interface Prepared {
  oldPsql: Psql
  oldVersion: string
  settings: ClusterSettings
  initdb: string[]
  extensions: string[]
  image: string
  network: string
  oldBytes: number
  oldDriver: {driver: string; options: Record<string, string>}
  existingVolumes: Set<string>
  backup?: string
  before?: Ledger
  visits?: number
  volume?: string
  newVersion?: string
}

async function preflight(ctx: StackContext, resolver: ImageResolver, options: UpgradeOptions): Promise<Prepared> {
  const {project} = ctx.config
  const db = await runningDb(ctx, 'upgrade')
  const oldPsql = new Psql(ctx.engine, db.id)
  const server = await serverVersion(oldPsql, DB_NAME)
  const registry = ctx.config.imageSource === 'registry' || ctx.state?.settings.resolvedImageSource === 'registry'
  assertTarget(server.major, options.to, registry ? [server.major, options.to] : LOCAL_PG_MAJORS)
  if (server.major !== ctx.config.pgMajor) {
    throw new UsageError(
      `the running server is PostgreSQL ${server.major} but the stack is configured for ${ctx.config.pgMajor}`,
      'run stackctl up with the --pg-major of the data first',
    )
  }
  const settings = await clusterSettings(oldPsql)
  const initdb = initdbArgs(settings, options.to, options.initdbArgs)
  const extensions = lines(await oldPsql.query(EXTENSIONS_SQL))
  const {images} = await resolveImages(
    ctx.config.imageSource,
    options.to,
    ctx.state?.settings.resolvedImageSource,
    resolver,
  )
  if (options.method === 'pg_upgrade') await refusePgUpgrade(ctx.engine, images.postgres, server.major)
  const network = (await ctx.engine.networks.listByProject(project)).find((name) => name === `${project}_default`)
  if (!network) throw new StackctlError(`the network ${project}_default of the stack is missing`)
  const info = await ctx.engine.volumes.inspect(ctx.config.volume)
  if (!info) throw new StackctlError(`the data volume ${ctx.config.volume} is missing`)
  const oldBytes = await ctx.engine.volumes.sizeBytes(ctx.config.volume)
  const existing = await ctx.engine.volumes.list(`com.docker.compose.project=${project}`)
  const pending = ctx.state?.pendingUpgrade?.volume
  const existingVolumes = new Set(existing.map((v) => v.name).filter((name) => name !== pending))
  for (const name of [ctx.config.volume, ...(ctx.state?.superseded ?? []).map((s) => s.volume)]) {
    existingVolumes.add(name)
  }
  ctx.progress(
    `pre-flight: PostgreSQL ${server.major} → ${options.to} (${images.postgres}), ${settings.encoding}, ${settings.collate}, checksums ${settings.dataChecksums ? 'on' : 'off'}, extensions: ${extensions.join(', ') || 'none'}, data ${oldBytes >= 0 ? formatBytes(oldBytes) : 'of unknown size'}`,
  )
  return {
    oldPsql,
    oldVersion: server.version,
    settings,
    initdb,
    extensions,
    image: images.postgres,
    network,
    oldBytes,
    oldDriver: {driver: info.driver, options: info.options},
    existingVolumes,
  }
}

async function clusterSettings(psql: Psql): Promise<ClusterSettings> {
  const provider = await psql.tryQuery(LOCALE_PROVIDER_SQL)
  return parseClusterSettings(await psql.query(CLUSTER_SETTINGS_SQL), provider || 'c')
}

/** pg_upgrade needs both majors' binaries in one image; Debian's images hold one major each. */
async function refusePgUpgrade(engine: Engine, image: string, oldMajor: number): Promise<never> {
  const probe = await engine.containers.runOneShot({
    image,
    entrypoint: ['test'],
    cmd: ['-x', `/usr/lib/postgresql/${oldMajor}/bin/postgres`],
    readOnlyVolumes: {},
  })
  const reason =
    probe.exitCode === 0
      ? `stackctl does not run pg_upgrade yet`
      : `${image} holds no PostgreSQL ${oldMajor} binaries, and pg_upgrade needs both majors' in one image`
  throw new UsageError(
    `--method pg_upgrade is not available with these images: ${reason}`,
    'use --method dump (the default)',
  )
}

/** A container of an earlier run that was killed, and the volume it was filling: both ours, never switched to. */
async function removeLeftovers(ctx: StackContext, prepared: Prepared): Promise<void> {
  const stackId = ctx.state?.stackId
  const containers = await ctx.engine.containers.list({label: `io.stackctl.role=upgrade`})
  for (const container of containers) {
    if (container.labels['io.stackctl.stack-id'] !== stackId) continue
    ctx.progress(`removing ${container.name}, left by an upgrade that was killed`)
    await ctx.engine.containers.remove(container.id)
  }
  const pending = ctx.state?.pendingUpgrade?.volume
  if (!pending || pending === ctx.config.volume || prepared.existingVolumes.has(pending)) return
  const info = await ctx.engine.volumes.inspect(pending)
  if (info && info.labels['io.stackctl.stack-id'] === stackId && info.labels['io.stackctl.supersedes']) {
    ctx.progress(`removing ${pending}, the unfinished copy of an upgrade that was killed (it was never used)`)
    await ctx.engine.volumes.remove(pending)
  }
  await updateState(ctx, ({pendingUpgrade: _pending, ...state}) => state)
}

async function assertRoom(engine: Engine, prepared: Prepared, volume: string): Promise<void> {
  const probe = await engine.containers.runOneShot({
    image: prepared.image,
    entrypoint: ['df'],
    cmd: ['--output=avail', '-B1', '/new'],
    readOnlyVolumes: {[volume]: '/new'},
  })
  const available = parseAvailable(probe.stdout)
  const needed = requiredBytes(prepared.oldBytes)
  if (available === undefined)
    throw new StackctlError(`cannot tell the free space of ${volume}: ${probe.stderr.trim()}`)
  if (available < needed) {
    throw new StackctlError(
      `not enough space for the copy: ${volume} has ${formatBytes(available)} free, the copy needs about ${formatBytes(needed)} (the data: ${formatBytes(Math.max(0, prepared.oldBytes))}, plus ${formatBytes(needed - Math.max(0, prepared.oldBytes))} for the new server's WAL)`,
      {
        exitCode: 2,
        suggestion: "free space on the engine's disk (or pass --volume-opt for a volume elsewhere) and try again",
      },
    )
  }
}

async function startServer(
  ctx: StackContext,
  prepared: Prepared,
  volume: string,
  options: UpgradeOptions,
  undo: Undo,
): Promise<NewServer> {
  const name = upgradeContainerName(ctx.config.project, options.to)
  const what = `the new server ${name} removed`
  undo.push(what, async () => {
    const [container] = await ctx.engine.containers.list({label: `io.stackctl.upgrade-of=${volume}`})
    if (container) await removeNewServer(ctx.engine, container.id)
  })
  return startNewServer(ctx.engine, {
    name,
    image: prepared.image,
    pgMajor: options.to,
    volume,
    network: prepared.network,
    passwordFile: ctx.paths.passwordFile,
    initdb: prepared.initdb,
    labels: {
      'io.stackctl.stack-id': ctx.state!.stackId,
      'io.stackctl.project': ctx.config.project,
      'io.stackctl.upgrade-of': volume,
    },
    timeoutSeconds: ctx.config.timeoutSeconds,
    signal: options.signal,
  })
}

/** The copy must hold exactly what the ledger of the old data holds, and be a working visit-tracker database. */
async function verifyCopy(psql: Psql, before: Ledger): Promise<void> {
  const differences = compareLedgers(before, await readLedger(psql))
  if (differences.length > 0) {
    throw new StackctlError(`the copy differs from the old data: ${differences.slice(0, 5).join('; ')}`)
  }
  const schema = judgeSchema(parseSchemaReport(await psql.query(SCHEMA_REPORT_SQL.replace(/\n/g, ' '))))
  if (schema.problems.length > 0)
    throw new StackctlError(`the copy is not a visit-tracker database: ${schema.problems.join('; ')}`)
  const [counter, count] = (
    await psql.query("SELECT (SELECT coalesce(sum(n), 0) FROM visit_counter) || '|' || (SELECT count(*) FROM visits)")
  ).split('|')
  if (counter !== count) throw new StackctlError(`the copy's visit counter says ${counter}, count(*) says ${count}`)
}

async function switchAndCheck(
  ctx: StackContext,
  resolver: ImageResolver,
  prepared: Required<Prepared>,
  options: UpgradeOptions,
  at: Date,
  enter: (step: Step) => void,
): Promise<Omit<UpgradeResult, 'steps' | 'seconds'>> {
  const old: VolumeRef = {volume: ctx.config.volume, pgMajor: ctx.config.pgMajor}
  const target: VolumeRef = {volume: prepared.volume, pgMajor: options.to}
  const expected = prepared.visits + 1
  const {pendingUpgrade: _pending, ...before} = ctx.state!
  const upgraded: StackState = {
    ...before,
    superseded: [
      ...(before.superseded ?? []).filter((s) => s.volume !== old.volume),
      {...old, supersededBy: target.volume, at: at.toISOString()},
    ],
    switches: [
      ...(before.switches ?? []),
      {kind: 'upgrade', from: old, to: target, at: at.toISOString(), visitsAtSwitch: expected, backup: prepared.backup},
    ],
  }
  try {
    const next = await switchTo(ctx, resolver, target, upgraded)
    enter('API check')
    await visitThroughApi(next, expected)
    ctx.progress(`the API recorded visit ${expected} on PostgreSQL ${options.to}`)
  } catch (error) {
    // Back to the old volume, which nothing has written to since the API was stopped; the new one is kept.
    const back: StackState = {
      ...before,
      superseded: [...(before.superseded ?? []), {...target, supersededBy: old.volume, at: new Date().toISOString()}],
    }
    ctx.progress(`the switch failed (${(error as Error).message}); switching back to ${old.volume}`)
    await switchTo(ctx, resolver, old, back)
    throw new StackctlError(`db upgrade failed at step 'switch': ${(error as Error).message}`, {
      suggestion: `the stack runs on ${old.volume} (PostgreSQL ${old.pgMajor}) again, as before; the copy is kept as ${target.volume} for inspection`,
    })
  }
  return {
    project: ctx.config.project,
    method: options.method,
    from: {...old, version: prepared.oldVersion},
    to: {...target, version: prepared.newVersion},
    backup: prepared.backup,
    tables: prepared.before.tables.length,
    rows: totalRows(prepared.before),
    visits: prepared.visits,
    nextVisit: expected,
    superseded: old.volume,
  }
}

async function restartApi(ctx: StackContext): Promise<void> {
  await ctx.compose.up(
    {waitTimeoutSeconds: ctx.config.timeoutSeconds, services: ['app']},
    {onLine: (line) => debug(line), shield: true},
  )
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

function lines(output: string): string[] {
  return output
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
}

function lastLine(text: string): string {
  return lines(text).findLast((line) => /error|fatal/i.test(line)) ?? lines(text).at(-1) ?? ''
}
