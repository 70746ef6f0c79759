/**
 * `stackctl db restore --latest | --to-time | --to-name | --to-lsn`: point-in-time recovery from the
 * pgBackRest repository into a NEW volume. A recovery server on that volume replays the archived WAL up to the
 * target and must prove it stopped there (recovery.ts) before the stack is switched to it; the old volume is
 * kept, recorded as superseded (`db prune-old` removes it). The API is stopped from before the restore point
 * until the switch starts it on the restored data (upgrade/api-hold.ts). Any failure, or Ctrl-C, before the switch
 * removes the new volume and the recovery server: the stack stays on its old volume, untouched.
 */

import {checkInterrupted} from '../../cli/interrupt.js'
import type {Engine} from '../../engine/engine.js'
import {runningService} from '../../engine/services.js'
import {Interrupted, StackctlError, UsageError} from '../../errors.js'
import {stackCommand} from '../../model/config/command-line.js'
import {LABELS} from '../../model/config/labels.js'
import {DB_OS_USER, pgDataMountPath} from '../../model/config/stack-config.js'
import {
  backupsVolumeName,
  pgbackrestEnvironment,
  RECOVERY_LABEL,
  REPO_PATH,
  RESTORE_RUN_LABEL as RUN_LABEL,
  STANZA,
} from '../../model/protection.js'
import {readState, type StackState} from '../../model/stackdir/stack-files.js'
import {phaseRunner, type StepRunner} from '../../plan/runner.js'
import type {StackContext} from '../../stack/context.js'
import type {ImageResolver} from '../../stack/images.js'
import {claimStack} from '../../stack/ownership.js'
import {Psql} from '../db/psql.js'
import {stopApi} from '../upgrade/api-hold.js'
import {createNewVolume} from '../upgrade/new-volume.js'
import {newVolumeLabels, newVolumeName} from '../upgrade/plan.js'
import {switchTo, updateState, type VolumeRef} from '../upgrade/switch.js'
import {formatBytes} from '../backup-restore/format.js'
import {freeBytes, watchFreeSpace} from '../backup-restore/room.js'
import {currentCluster, otherClusters, parseRepoInfo} from './pgbackrest.js'
import {
  clearNewVolume,
  DEFAULT_MAX_WAL_BYTES,
  DEFAULT_MIN_WAL_BYTES,
  DEFAULT_WAL_SEGMENT_BYTES,
  estimateRestoreRoom,
  liveCluster,
  probeNewVolume,
  restoreHint,
  restoreRoomProblem,
  restoreVolumeDriver,
  roomLine,
  segmentsBetween,
  stoppedForRoom,
  type RestoreRoomEstimate,
} from './restore-room.js'
import {makeRestorePoint, PointInterrupted, readPointRecord, type RestorePoint} from './restore-point.js'
import {
  chooseBackup,
  describeRange,
  describeTarget,
  proofFailures,
  recoverableRange,
  recoveryStopReason,
  restoreOptions,
  timelineOf,
  type RecoveryObservation,
  type RecoveryTarget,
} from './recovery.js'

export interface DbRestoreOptions {
  target: RecoveryTarget
  signal?: AbortSignal
  steps?: StepRunner
  /** The command, as its interrupt line names it (`db restore` unless said). */
  command?: string
  /** The new volume's driver options (--volume-opt); the old volume's driver and options when absent. */
  volumeOptions?: Record<string, string>
}

export interface DbRestoreResult {
  project: string
  target: string
  backup: string
  from: VolumeRef & {exists: boolean}
  to: VolumeRef
  proof: {timeline: number; visits: number; newestVisitAt: string | null; stoppedAt: string | null}
  /** The named point made before anything was changed, to come back to; null when the stack made none. */
  restorePoint: RestorePoint | null
  seconds: number
}

export async function restoreToPoint(
  ctx: StackContext,
  resolver: ImageResolver,
  options: DbRestoreOptions,
): Promise<DbRestoreResult> {
  const started = Date.now()
  const runner = options.steps ?? phaseRunner(ctx)
  runner.signal ??= options.signal
  const {signal, target} = options
  const old: VolumeRef = {volume: ctx.config.volume, pgMajor: ctx.config.pgMajor}
  const image = `stackctl/postgres:${ctx.config.pgMajor}`
  const command = options.command ?? 'db restore'
  let restored: Restored
  let restorePoint: RestorePoint | null
  try {
    const plan = await runner.step('pre-flight', () => preflight(ctx, target, image, command, options.volumeOptions))
    checkInterrupted(signal, 'nothing was changed')
    // A step only while the stack archives: a restore from the archive it had makes none, and says nothing.
    // The new volume and its room first: a refusal there (options the engine will not take, a disk too small)
    // leaves the stack as it was, without a restore point made for a restore that never ran.
    const volume = await runner.step('new volume', () => createVolume(ctx, runner, plan, command))
    const room = await runner.step('room', () => assertRestoreRoom(ctx, plan, volume, image, runner))
    checkInterrupted(signal, 'before the API was stopped')
    // Before the restore point: every visit the API acknowledged is then before the point and in the archive
    // (the point's segment is switched and archived), so --latest holds them all, and no visit is acknowledged
    // during the recovery that the restored data would lack.
    await runner.step('stop the API', async () => {
      // The test suite's negative control: the API kept serving, as it did before (see api-hold.ts).
      if (process.env.STACKCTL_TEST_RESTORE_KEEP_API) {
        ctx.progress('the API keeps serving during the restore (STACKCTL_TEST_RESTORE_KEEP_API is set)')
        return
      }
      await stopApi(ctx, runner, 'no visit may be acknowledged that the restored data would not hold')
    })
    checkInterrupted(signal, 'before the restore point')
    restorePoint = ctx.config.walArchive
      ? await runner.step('restore point', () => makeRestorePoint(ctx, command, signal))
      : null
    checkInterrupted(signal, 'before the recovery')
    restored = await runner.step('recover', () => recover(ctx, plan, volume, image, runner, room, signal))
    // The last moment a signal is answered by undoing: from the switch on, the restored timeline serves.
    checkInterrupted(signal, 'before the switch')
  } catch (error) {
    const undone = await runner.undo()
    if (error instanceof PointInterrupted) throw error
    if (error instanceof Interrupted) {
      throw new Interrupted(
        `${command} stopped: ${undone.done.join('; ') || 'nothing was changed'}; the stack stays on ${old.volume}`,
      )
    }
    if (error instanceof StackctlError && undone.done.length > 0) {
      throw new StackctlError(
        `${error.message} (${undone.done.join('; ')}; the stack stays on ${old.volume}, untouched)`,
        {
          exitCode: error.exitCode,
          suggestion: error.suggestion,
        },
      )
    }
    throw error
  }

  const to: VolumeRef = {volume: restored.volume, pgMajor: old.pgMajor}
  const oldExists = (await ctx.engine.volumes.inspect(old.volume)) !== undefined
  await runner.step(
    'switch',
    async () => {
      const state = await readState(ctx.paths)
      const {pendingUpgrade: _pending, ...before} = state ?? ctx.state!
      const next: StackState = {
        ...before,
        superseded: [
          ...(before.superseded ?? []).filter((s) => s.volume !== old.volume),
          {...old, supersededBy: to.volume, at: new Date().toISOString()},
        ],
      }
      // Compose's configuration hash leaves out which volume a key names: a db container left in place would
      // be judged unchanged and keep running on the old volume. Removed, it is created on the new one.
      const db = await runningService(ctx.engine, ctx.config.project, 'db')
      if (db) await ctx.engine.containers.remove(db.id)
      await switchTo(ctx, resolver, to, next, runner)
      await assertServing(ctx, to.volume, restored.observation)
      await archiveTimelineHistory(ctx, restored.observation.timeline)
    },
    {shielded: true},
  )
  // Switching back would leave the archive with two histories after the branch point (and visits the API
  // recorded on the restored data meanwhile off the active volume): a signal during the switch is answered
  // once it is complete, as db upgrade does.
  checkInterrupted(
    signal,
    `the signal came during the switch, which was finished: the stack runs on ${to.volume}, restored to ${describeTarget(target)} and proven (timeline ${restored.observation.timeline}, ${restored.observation.visits} visits); ${oldExists ? `${old.volume} is kept` : `${old.volume} was gone`}`,
    oldExists ? `${stackCommand(ctx.config, 'db prune-old')} ${old.volume} removes it once you are sure` : undefined,
  )
  return {
    project: ctx.config.project,
    target: describeTarget(target),
    backup: restored.backup,
    from: {...old, exists: oldExists},
    to,
    proof: {
      timeline: restored.observation.timeline,
      visits: restored.observation.visits,
      newestVisitAt: restored.observation.newestVisitAt?.toISOString() ?? null,
      stoppedAt: /recovery stopping [^\n]*/.exec(restored.observation.log)?.[0] ?? null,
    },
    restorePoint,
    seconds: (Date.now() - started) / 1000,
  }
}

interface Plan {
  target: RecoveryTarget
  backup: {label: string; timeline: number; size: number; archiveStart: string}
  options: string[]
  /** The last archived WAL segment: a replay to the end of the archive must reach it. */
  archiveEnd: string
  /** The new volume's driver and options: the old volume's, or --volume-opt. */
  volume: {driver: string; options: Record<string, string>}
  /** Whether those are the user's --volume-opt. */
  volumeRequested: boolean
  /** The command a hint repeats, with the stack's flags and the target. */
  hint: string
}

async function preflight(
  ctx: StackContext,
  asked: RecoveryTarget,
  image: string,
  command: string,
  volumeOptions: Record<string, string> | undefined,
): Promise<Plan> {
  await ctx.engine.ping()
  await claimStack(ctx, {adopt: ctx.adopt})
  await removeLeftovers(ctx)
  const hint = restoreHint(ctx.config, command, asked)
  const old = await ctx.engine.volumes.inspect(ctx.config.volume)
  const volume = restoreVolumeDriver(
    {name: ctx.config.volume, driver: old?.driver ?? 'local', options: old?.options ?? {}},
    volumeOptions,
    command,
    hint,
  )
  const repo = backupsVolumeName(ctx.config.project)
  if (!(await ctx.engine.volumes.inspect(repo))) {
    throw new UsageError(
      `stack '${ctx.config.project}' has no WAL archive (no volume ${repo}): there is nothing to restore from`,
      'stackctl up --wal-archive turns archiving on for what is written from then on',
    )
  }
  const repository = parseRepoInfo(await repoInfo(ctx.engine, image, repo))
  // Only the running major's backups: an earlier major's (before a db upgrade) need that major's server.
  const info = currentCluster(repository)
  const target = await withRecordedPoint(ctx, image, repo, asked)
  const lastArchivedAt = await lastArchivedTime(ctx)
  const choice = chooseBackup(target, info, lastArchivedAt)
  if ('refused' in choice) {
    const earlier = otherClusters(repository)
      .map((b) => (b.pgVersion ? Number.parseInt(b.pgVersion, 10) : undefined))
      .find((major) => major !== undefined && major !== ctx.config.pgMajor)
    throw new StackctlError(
      `refused: ${choice.refused}${earlier ? `; the repository also holds backups of PostgreSQL ${earlier} from before the stack's db upgrade, which PostgreSQL ${ctx.config.pgMajor} cannot restore` : ''}`,
      {
        exitCode: 1,
        suggestion: earlier
          ? `pick a target inside that range, or ${otherMajorHint(ctx, earlier)}`
          : 'pick a target inside that range; nothing was changed',
      },
    )
  }
  const range = recoverableRange(info)!
  ctx.progress(
    `recoverable: ${describeRange(range)}; restoring backup ${choice.backup.label} to ${describeTarget(target)}`,
  )
  return {
    target,
    backup: {
      label: choice.backup.label,
      timeline: timelineOf(choice.backup.archiveStart),
      size: choice.backup.size ?? 0,
      archiveStart: choice.backup.archiveStart,
    },
    options: restoreOptions(target, choice.backup),
    archiveEnd: range.lastSegment,
    volume,
    volumeRequested: volumeOptions !== undefined,
    hint,
  }
}

/** A name stackctl made a point under gets that point's timeline and LSN; any other name is passed on as it is. */
async function withRecordedPoint(
  ctx: StackContext,
  image: string,
  repo: string,
  target: RecoveryTarget,
): Promise<RecoveryTarget> {
  if (target.kind !== 'name') return target
  const found = await readPointRecord(ctx.engine, image, repo, target.name)
  if (!found) return target
  const {record, history} = found
  if (record.pgMajor !== undefined && record.pgMajor !== ctx.config.pgMajor) {
    throw new StackctlError(
      `refused: restore point ${record.name} was made by PostgreSQL ${record.pgMajor} (${record.before ? `before ${record.before}, ` : ''}${record.at}); the stack runs PostgreSQL ${ctx.config.pgMajor}, whose server cannot restore it`,
      {suggestion: otherMajorHint(ctx, record.pgMajor)},
    )
  }
  return {...target, point: {timeline: record.timeline, lsn: record.lsn, ...(history ? {history} : {})}}
}

/** `pgbackrest info` in a throw-away container with the repository mounted read-only: the db may be gone. */
export async function repoInfo(engine: Engine, image: string, repo: string): Promise<string> {
  const result = await engine.containers.runOneShot({
    image,
    entrypoint: ['pgbackrest'],
    cmd: [`--stanza=${STANZA}`, `--repo1-path=${REPO_PATH}`, '--output=json', 'info'],
    readOnlyVolumes: {[repo]: REPO_PATH},
    user: DB_OS_USER,
  })
  if (result.exitCode !== 0) {
    throw new StackctlError(`cannot read the WAL archive in ${repo}: ${result.stderr.trim().split('\n').at(-1) ?? ''}`)
  }
  return result.stdout
}

async function lastArchivedTime(ctx: StackContext): Promise<Date | undefined> {
  const db = await runningService(ctx.engine, ctx.config.project, 'db')
  if (!db) return undefined
  const answer = await new Psql(ctx.engine, db.id).tryQuery(
    'SELECT coalesce(extract(epoch FROM last_archived_time) * 1000, 0)::bigint FROM pg_stat_archiver',
    'postgres',
  )
  return answer && answer !== '0' ? new Date(Number(answer)) : undefined
}

/** What a killed restore left: its recovery server, and the new volume stack.json names as pending. */
async function removeLeftovers(ctx: StackContext): Promise<void> {
  for (const container of await ctx.engine.containers.list({label: `${LABELS.project}=${ctx.config.project}`})) {
    if (container.labels[RECOVERY_LABEL] !== undefined) {
      await ctx.engine.containers.remove(container.id)
      ctx.progress(`removed the recovery server a stopped restore left (${container.labels[RECOVERY_LABEL]})`)
    }
  }
  const pending = ctx.state?.pendingUpgrade?.volume
  if (pending === undefined || pending === ctx.config.volume) return
  const volume = await ctx.engine.volumes.inspect(pending)
  if (volume?.labels[RUN_LABEL] !== undefined && volume.labels[LABELS.stackId] === ctx.state?.stackId) {
    await ctx.engine.volumes.remove(pending)
    ctx.progress(`removed ${pending}, the unfinished volume of a stopped restore`)
  }
  await updateState(ctx, ({pendingUpgrade: _pending, ...state}) => state)
}

async function createVolume(ctx: StackContext, runner: StepRunner, plan: Plan, command: string): Promise<string> {
  const {project, pgMajor} = ctx.config
  const existing = new Set((await ctx.engine.volumes.list(`${LABELS.project}=${project}`)).map((v) => v.name))
  const active = ctx.config.volume
  return createNewVolume(ctx, runner, {
    name: newVolumeName(project, pgMajor, (name) => existing.has(name) || name === active),
    driver: plan.volume.driver,
    options: plan.volume.options,
    labels: newVolumeLabels({stackId: ctx.state!.stackId, project, supersedes: active, pgMajor, at: new Date()}),
    runLabel: RUN_LABEL,
    requested: plan.volumeRequested,
    command,
    hintCommand: plan.hint,
  })
}

interface Restored {
  volume: string
  backup: string
  observation: RecoveryObservation
}

function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`
}

/**
 * pgBackRest restores the backup, then the server replays WAL to the target and promotes (no archiving yet).
 * Both as the postgres OS user: the recovery container runs as it.
 */
export function recoveryScript(options: readonly string[]): string {
  const restore = ['pgbackrest', `--stanza=${STANZA}`, ...options, 'restore'].map(shellQuote).join(' ')
  const server = ['postgres', '-c', 'archive_mode=off', '-c', 'listen_addresses='].map(shellQuote).join(' ')
  return `set -e; ${restore}; exec ${server}`
}

async function recover(
  ctx: StackContext,
  plan: Plan,
  volume: string,
  image: string,
  runner: StepRunner,
  room: RestoreRoomEstimate,
  signal?: AbortSignal,
): Promise<Restored> {
  const {project, pgMajor} = ctx.config
  const name = `${project}-recovery`
  const what = `the recovery server ${name} removed`
  runner.onUndo(what, async () => {
    for (const c of await ctx.engine.containers.list({label: `${RECOVERY_LABEL}=${volume}`})) {
      await ctx.engine.containers.remove(c.id)
    }
  })
  const id = await ctx.engine.containers.start({
    name,
    image,
    env: Object.entries(pgbackrestEnvironment(pgDataMountPath(pgMajor))).map(([k, v]) => `${k}=${v}`),
    cmd: ['bash', '-c', recoveryScript(plan.options)],
    user: DB_OS_USER,
    labels: {[LABELS.stackId]: ctx.state!.stackId, [LABELS.project]: project, [RECOVERY_LABEL]: volume},
    volumes: {[volume]: pgDataMountPath(pgMajor), [backupsVolumeName(project)]: REPO_PATH},
    readOnlyFiles: {},
  })
  ctx.progress(`restoring backup ${plan.backup.label} into ${volume} and replaying the archived WAL`)
  // The estimate can be wrong: the recovery is stopped while the live server's reserve is still free.
  const watch = watchFreeSpace(
    () => freeBytes(ctx.engine, id, pgDataMountPath(pgMajor)),
    room.reserveBytes,
    (free) => {
      ctx.progress(`${volume}'s filesystem is down to ${formatBytes(free)} free: stopping the recovery`)
      return ctx.engine.containers.kill(id, 'SIGKILL')
    },
  )
  try {
    await waitOutOfRecovery(ctx, id, signal)
  } catch (error) {
    const low = watch.low()
    if (low !== undefined) throw stoppedForRoom(volume, low, room.reserveBytes, plan.hint)
    // Filled between two readings: the same cause, not an unreachable target.
    if (error instanceof StackctlError && error.message.includes('No space left on device')) {
      throw new StackctlError(error.message, {
        exitCode: 2,
        suggestion: stoppedForRoom(volume, 0, 0, plan.hint).suggestion,
      })
    }
    throw error
  } finally {
    await watch.stop()
  }
  const observation = {...(await observe(ctx.engine, id, plan.backup.timeline)), archiveEnd: plan.archiveEnd}
  const failures = proofFailures(plan.target, observation)
  if (failures.length > 0) {
    throw new StackctlError(`refused: the restored data does not prove the target: ${failures.join('; ')}`, {
      suggestion: 'the restore was not used; try another target, or the backup before it',
    })
  }
  ctx.progress(
    `proven: timeline ${observation.timeline}, ${observation.visits} visits${observation.newestVisitAt ? `, the newest from ${observation.newestVisitAt.toISOString()}` : ''}`,
  )
  // A clean shutdown (SIGINT, the image's stop signal) before the stack's db starts on the volume: removed
  // at once, it was killed, and the db then started with crash recovery (seen: archive_timeout then no longer
  // switched the first segment of the new timeline, which stayed unarchived).
  await ctx.engine.containers.stop(id)
  await ctx.engine.containers.remove(id)
  runner.forget(what)
  return {volume, backup: plan.backup.label, observation}
}

/** Measures the new volume and the live cluster, estimates the room the recovery needs, refuses it when short. */
async function assertRestoreRoom(
  ctx: StackContext,
  plan: Plan,
  volume: string,
  image: string,
  runner: StepRunner,
): Promise<RestoreRoomEstimate> {
  const oldExists = (await ctx.engine.volumes.inspect(ctx.config.volume)) !== undefined
  const {freeBytes: free} = await probeNewVolume(ctx.engine, image, volume, oldExists ? ctx.config.volume : undefined)
  const db = await runningService(ctx.engine, ctx.config.project, 'db')
  const live = await liveCluster(db ? new Psql(ctx.engine, db.id) : undefined)
  const segment = live?.walSegmentBytes ?? DEFAULT_WAL_SEGMENT_BYTES
  const estimate = estimateRestoreRoom({
    freeBytes: free,
    backupBytes: plan.backup.size,
    liveBytes: live?.liveBytes ?? null,
    walSegments: segmentsBetween(plan.backup.archiveStart, plan.archiveEnd, segment),
    walSegmentBytes: segment,
    maxWalBytes: live?.maxWalBytes ?? DEFAULT_MAX_WAL_BYTES,
    minWalBytes: live?.minWalBytes ?? DEFAULT_MIN_WAL_BYTES,
  })
  const problem = restoreRoomProblem(estimate, volume, plan.hint)
  if (problem) throw problem
  // A bind mount's (a device's) files outlive the volume: found empty, it is left empty by an undo.
  if (plan.volume.options.device !== undefined) {
    runner.onUndo(`the files the recovery wrote in ${plan.volume.options.device} removed`, () =>
      clearNewVolume(ctx.engine, {
        name: `${ctx.config.project}-recovery-clear`,
        image,
        volume,
        labels: {[LABELS.stackId]: ctx.state!.stackId, [LABELS.project]: ctx.config.project, [RECOVERY_LABEL]: volume},
      }),
    )
  }
  ctx.progress(roomLine(estimate, volume))
  return estimate
}

const POLL_MS = 500

async function waitOutOfRecovery(ctx: StackContext, id: string, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + ctx.config.timeoutSeconds * 5 * 1000
  const psql = new Psql(ctx.engine, id)
  while (Date.now() < deadline) {
    checkInterrupted(signal, 'during the recovery')
    const details = await ctx.engine.containers.inspect(id)
    if (!details || !details.running) {
      const log = await ctx.engine.containers.logTail(id, 30).catch(() => '')
      const reason = recoveryStopReason(log)
      throw new StackctlError(`refused: the recovery server stopped: ${reason}`, {
        suggestion: 'the target is not reachable with the archived WAL; nothing was switched',
      })
    }
    const answer = await psql.tryQuery('SELECT pg_is_in_recovery()', 'postgres')
    if (answer === 'f') return
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
  throw new StackctlError(`the recovery did not finish within ${ctx.config.timeoutSeconds * 5} s`)
}

const OBSERVE_SQL = `SELECT pg_is_in_recovery() || '|' ||
  ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int || '|' ||
  CASE WHEN to_regclass('public.visits') IS NULL THEN '0|0||0'
  ELSE (SELECT count(*) FROM visits) || '|' || (SELECT coalesce(sum(n), 0) FROM visit_counter) || '|' ||
    coalesce((SELECT (extract(epoch FROM max(visited_at)) * 1000)::bigint FROM visits)::text, '') || '|' ||
    (SELECT coalesce(max(id), 0) FROM visits) END`

async function observe(engine: Engine, id: string, backupTimeline: number): Promise<RecoveryObservation> {
  const [inRecovery, timeline, visits, counter, newest, maxId] = (await new Psql(engine, id).query(OBSERVE_SQL)).split(
    '|',
  )
  // The history file's last line: the parent timeline, the LSN where this one branched off, and why.
  const history = await new Psql(engine, id).tryQuery(
    `SELECT pg_read_file('pg_wal/${historyFile(Number(timeline))}')`,
    'postgres',
  )
  const branchLsn = history?.trim().split('\n').at(-1)?.split('\t')[1]
  return {
    ...(branchLsn && /^[0-9A-F]+\/[0-9A-F]+$/i.test(branchLsn) ? {branchLsn} : {}),
    inRecovery: inRecovery === 'true' || inRecovery === 't',
    timeline: Number(timeline),
    backupTimeline,
    log: await engine.containers.logTail(id, 400),
    visits: Number(visits),
    counter: Number(counter),
    newestVisitAt: newest ? new Date(Number(newest)) : null,
    maxVisitId: Number(maxId),
  }
}

/**
 * The recovery server ran without archiving (a refused restore must leave nothing in the repository), so the
 * history file of the timeline it started never reached the archive; without it a later restore to --latest
 * cannot follow this timeline and stops at the end of the old one. Pushed now, by the stack's db.
 */
export function historyFile(timeline: number): string {
  return `${timeline.toString(16).toUpperCase().padStart(8, '0')}.history`
}

async function archiveTimelineHistory(ctx: StackContext, timeline: number): Promise<void> {
  const db = await runningService(ctx.engine, ctx.config.project, 'db')
  if (!db) throw new StackctlError('the db stopped right after the switch')
  const file = `${pgDataMountPath(ctx.config.pgMajor)}/pg_wal/${historyFile(timeline)}`
  const pushed = await ctx.engine.containers.exec(db.id, ['pgbackrest', `--stanza=${STANZA}`, 'archive-push', file], {
    user: DB_OS_USER,
  })
  if (pushed.exitCode !== 0) {
    throw new StackctlError(
      `the new timeline's history was not archived: ${pushed.stderr.trim().split('\n').at(-1) ?? ''}`,
      {
        suggestion:
          'the stack runs on the restored data; a later restore needs this file in the archive: stackctl logs db',
      },
    )
  }
}

/** The stack's db runs on the restored volume and holds every restored visit. */
async function assertServing(ctx: StackContext, volume: string, seen: RecoveryObservation): Promise<void> {
  const db = await runningService(ctx.engine, ctx.config.project, 'db')
  if (!db || (db.volumes && !db.volumes.includes(volume))) {
    throw new StackctlError(`the stack's database is not running on ${volume} after the switch`)
  }
  // Users may visit as soon as the API is back: only the restored ids count.
  const held = await new Psql(ctx.engine, db.id).tryQuery(
    `SELECT CASE WHEN to_regclass('public.visits') IS NULL THEN 0 ELSE (SELECT count(*) FROM visits WHERE id <= ${seen.maxVisitId}) END`,
  )
  if (Number(held) < seen.visits) {
    throw new StackctlError(`the database on ${volume} holds ${held} of the ${seen.visits} restored visits`)
  }
}

/**
 * What returns the stack to data of another major: `db rollback`, when the volume the last upgrade came from
 * is of that major; otherwise nothing stackctl can do in one command (said so).
 */
export function otherMajorHint(ctx: StackContext, major: number): string {
  const upgrade = (ctx.state?.switches ?? []).findLast((s) => s.kind === 'upgrade' && s.to.volume === ctx.config.volume)
  return upgrade && upgrade.from.pgMajor === major
    ? `${stackCommand(ctx.config, 'db rollback')} returns to ${upgrade.from.volume} (PostgreSQL ${major}), where it can be restored; nothing was changed`
    : `only a stack running PostgreSQL ${major} can restore it; nothing was changed`
}
