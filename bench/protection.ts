/**
 * `--only protection` (issue 25's measured items), on stacks of the bench's own:
 * 1. what WAL archiving costs the API: `GET /` at 32 connections on an archiving stack and on a
 *    --no-wal-archive one, alternated round by round (ABBA) so drift hits both, each load checked for exact totals;
 * 2. the recovery point: visits written at load, the db container removed and its data volume deleted, then
 *    `db restore --latest`: the acknowledged visits lost (and how old the oldest was), none invented;
 * 3. exact point in time: ≥ 100,000 visits written over a minute (API writers plus psql batches), restore
 *    points and LSNs taken with the writers paused, random times; each target restored (newest first: a
 *    restore to an earlier point branches a new timeline, and a time or LSN target follows the newest one)
 *    and the restored ids compared with the writes' record;
 * 4. at `rows` visits: a full pgBackRest backup (`snapshot create`) and a lost volume's `db restore --latest`.
 * Steps 2-4 run on the archiving stack, one after the other.
 */
import {randomBytes, randomInt} from 'node:crypto'
import {readFile, statfs} from 'node:fs/promises'
import {loadavg} from 'node:os'
import path from 'node:path'

import {volumeName} from '../src/lib/model/config/stack-config.js'
import {ARCHIVE_TIMEOUT_SECONDS} from '../src/lib/model/protection.js'
import type {Engine} from '../src/lib/engine/engine.js'
import {run} from '../src/lib/engine/process/run.js'
import {Psql} from '../src/lib/operations/db/psql.js'
import {warmUp} from './api-load.js'
import {runCli} from './proc.js'
import {
  archivingCost,
  judgeRecoveryPoint,
  judgeTarget,
  type Boundary,
  type RecoveryPointJudgement,
  type TargetJudgement,
  type Write,
} from './protection-judge.js'
import type {LoadResult} from './results.js'
import {checkedLoad} from './robustness.js'
import {growSql} from './scale.js'
import {containerIds, startStack, type BenchStack} from './stack.js'
import {round} from './stats.js'
import {now, VisitWriter} from './visit-writer.js'

export const COST_CONNECTIONS = 32
export const PIT_VISITS = 100_000
const PIT_SECONDS = 60
const PIT_BATCH_EVERY_MS = 1000
const RECOVERY_WRITE_SECONDS = 15
const RECOVERY_CONNECTIONS = 16
const PIT_CONNECTIONS = 4
/** A restore needs room for a copy of the cluster: stop before the disk gets this low. */
const MIN_FREE_BYTES = 5e9

export type TargetKind = 'time' | 'name' | 'lsn'

export interface ProtectionOptions {
  seconds: number
  rounds: number
  runs: number
  targets: number
  rows: number
  log: (message: string) => void
}

export interface CostRound {
  archiving: boolean
  load: LoadResult
}

export interface RecoveryRun extends RecoveryPointJudgement {
  /** Visits acknowledged during this run (`acknowledged` also counts those already in the table). */
  written: number
  writes: number
  restoreMs: number
}

/** At most this many of a target's missing or extra ids are kept: enough to look them up. */
const SAMPLE_IDS = 20

export interface PitTarget {
  kind: TargetKind
  /** What was passed: the ISO time, the restore point's name or the LSN. */
  value: string
  /** ms since the writing began. */
  atMs: number
  expected?: number
  eitherWay?: number
  missing?: number
  extra?: number
  /** The first missing and extra ids. */
  missingIds?: number[]
  extraIds?: number[]
  restoreMs?: number
  /** Set when the restore itself failed: its exit code and the tail of its output. */
  error?: string
}

export interface ProtectionResult {
  startedAt: string
  finishedAt: string
  loadavgBefore: number[]
  loadavgAfter: number[]
  archiveTimeoutSeconds: number
  cost: ReturnType<typeof archivingCost> & {connections: number; seconds: number; rounds: CostRound[]; exact: boolean}
  recovery: {runs: RecoveryRun[]; writeSeconds: number; connections: number}
  pointInTime: {
    /** Visits already in the table when the writing began (from the earlier steps): every target expects them. */
    visitsBefore: number
    visits: number
    spanSeconds: number
    apiVisits: number
    batchVisits: number
    batches: number
    targets: PitTarget[]
    /** The least free space seen on the engine's disk between restores. */
    minFreeGB: number
  }
  scale: {
    visits: number
    backupMs: number
    backupBytes: number
    restoreMs: number
    restoredVisits: number
    exact: boolean
  }
}

async function psqlOf(engine: Engine, stack: BenchStack): Promise<Psql> {
  return new Psql(engine, (await containerIds(engine, stack)).db)
}

async function ids(psql: Psql): Promise<number[]> {
  const text = await psql.query('SELECT id FROM visits ORDER BY id')
  return text === '' ? [] : text.split('\n').map(Number)
}

async function activeVolume(stack: BenchStack): Promise<string> {
  const json = JSON.parse(await readFile(path.join(stack.dir, 'stack.json'), 'utf8')) as {settings: {volume?: string}}
  return json.settings.volume ?? volumeName(stack.project)
}

async function freeBytes(): Promise<number> {
  const stats = await statfs('/var/lib/docker').catch(() => statfs('/'))
  return stats.bavail * stats.bsize
}

/** Polls until the WAL up to the current LSN is archived (by archive_timeout or a full segment). */
async function archivedThroughNow(psql: Psql, withinMs: number): Promise<void> {
  const lsn = await psql.query('SELECT pg_current_wal_lsn()')
  const deadline = Date.now() + withinMs
  while (Date.now() < deadline) {
    const done = await psql.query(
      `SELECT coalesce(last_archived_wal >= pg_walfile_name('${lsn}'::pg_lsn - 1), false) FROM pg_stat_archiver`,
    )
    if (done === 't') return
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error(`WAL up to ${lsn} was not archived within ${withinMs / 1000} s`)
}

async function restore(stack: BenchStack, args: string[]) {
  const result = await runCli(['db', 'restore', ...stack.cliArgs, ...args, '--json'], stack.env).catch(
    (error: Error) => error,
  )
  if (result instanceof Error) return {error: result.message.slice(-2000)}
  const json = JSON.parse(result.stdout) as {from: {volume: string; exists: boolean}; to: {volume: string}}
  return {ms: round(result.ms, 0), from: json.from}
}

/** Deletes the volume a restore left behind (kept by the restore as superseded). */
async function pruneOld(stack: BenchStack, from: {volume: string; exists: boolean}): Promise<void> {
  if (from.exists) await runCli(['db', 'prune-old', from.volume, '--force', ...stack.cliArgs], stack.env)
}

/** The data volume lost: the db container removed by force, then its volume deleted. */
async function loseVolume(engine: Engine, stack: BenchStack): Promise<void> {
  const volume = await activeVolume(stack)
  const {db} = await containerIds(engine, stack)
  await run('docker', ['rm', '--force', db])
  await run('docker', ['volume', 'rm', volume])
}

/**
 * Which stack goes first in a round: on-off, then off-on (ABBA), so whatever the first run leaves behind for
 * the second (WAL still to archive, a checkpoint) falls on each side equally often.
 */
export function pairOrder(round: number): [boolean, boolean] {
  return round % 2 === 0 ? [true, false] : [false, true]
}

async function measureCost(
  engine: Engine,
  stacks: {on: BenchStack; off: BenchStack},
  options: ProtectionOptions,
): Promise<ProtectionResult['cost']> {
  const rounds: CostRound[] = []
  for (const stack of [stacks.on, stacks.off]) await warmUp(stack.url, COST_CONNECTIONS, 5)
  for (let round = 0; round < options.rounds; round++) {
    for (const archiving of pairOrder(round)) {
      const stack = archiving ? stacks.on : stacks.off
      options.log(`archiving cost: round ${round + 1}, archiving ${archiving ? 'on' : 'off'}, ${options.seconds} s`)
      const {app, db} = await containerIds(engine, stack)
      rounds.push({
        archiving,
        load: await checkedLoad(await psqlOf(engine, stack), stack.url, COST_CONNECTIONS, options.seconds, {app, db}),
      })
    }
  }
  const rps = (archiving: boolean) => rounds.filter((r) => r.archiving === archiving).map((r) => r.load.rps)
  return {
    ...archivingCost(rps(true), rps(false)),
    connections: COST_CONNECTIONS,
    seconds: options.seconds,
    rounds,
    exact: rounds.every((r) => r.load.exactness?.exact),
  }
}

async function measureRecoveryRun(engine: Engine, stack: BenchStack, options: ProtectionOptions): Promise<RecoveryRun> {
  const startedAt = now()
  const baseline: Write = {ids: await ids(await psqlOf(engine, stack)), sentAt: startedAt, ackAt: startedAt}
  const writer = new VisitWriter(stack.url, {connections: RECOVERY_CONNECTIONS})
  writer.start()
  await new Promise((resolve) => setTimeout(resolve, RECOVERY_WRITE_SECONDS * 1000))
  const lossAt = now()
  try {
    await loseVolume(engine, stack)
  } finally {
    await writer.stop()
  }
  options.log(`recovery point: volume lost after ${writer.acknowledged} acknowledged visits; db restore --latest`)
  const restored = await restore(stack, ['--latest'])
  if (restored.error !== undefined) throw new Error(`db restore --latest after the loss failed: ${restored.error}`)
  const present = await ids(await psqlOf(engine, stack))
  const judged = judgeRecoveryPoint([baseline, ...writer.writes], lossAt, present, ARCHIVE_TIMEOUT_SECONDS)
  options.log(
    `recovery point: ${judged.lost} acknowledged lost (${judged.lostSeconds} s), ${judged.invented} invented, restore ${restored.ms} ms`,
  )
  return {...judged, written: writer.acknowledged, writes: writer.writes.length, restoreMs: restored.ms}
}

/** The kinds of `count` targets: as even a mix as the count allows, in random order. */
export function targetKinds(count: number, random: (n: number) => number = randomInt): TargetKind[] {
  const kinds = Array.from({length: count}, (_, i) => (['time', 'name', 'lsn'] as const)[i % 3])
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = random(i + 1)
    ;[kinds[i], kinds[j]] = [kinds[j], kinds[i]]
  }
  return kinds
}

interface PlannedTarget {
  kind: TargetKind
  value: string
  boundary: Boundary
}

/** Writes the visits over PIT_SECONDS, taking the name and LSN targets along the way with the writers paused. */
async function writeOverTime(
  engine: Engine,
  stack: BenchStack,
  kinds: TargetKind[],
  log: (message: string) => void,
): Promise<{writes: Write[]; planned: PlannedTarget[]; began: number; ended: number}> {
  const psql = await psqlOf(engine, stack)
  const began = now()
  const baseline: Write = {ids: await ids(psql), sentAt: began, ackAt: began}
  const rows = Math.ceil(PIT_VISITS / (PIT_SECONDS * (1000 / PIT_BATCH_EVERY_MS)))
  const writer = new VisitWriter(stack.url, {
    connections: PIT_CONNECTIONS,
    batch: {psql, rows, everyMs: PIT_BATCH_EVERY_MS},
  })
  const marks = kinds.filter((kind) => kind !== 'time')
  const offsets = marks.map(() => randomInt(PIT_SECONDS * 100, PIT_SECONDS * 900)).sort((a, b) => a - b)
  const planned: PlannedTarget[] = []
  const tag = randomBytes(3).toString('hex')
  log(`point in time: writing ${PIT_VISITS}+ visits over ${PIT_SECONDS} s (${rows}-row batches each second)`)
  writer.start()
  try {
    for (const [i, kind] of marks.entries()) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, began + offsets[i] - now())))
      await writer.pause()
      const from = now()
      const value = kind === 'name' ? `bench-${tag}-${i}` : await psql.query('SELECT pg_current_wal_lsn()')
      if (kind === 'name') await psql.query(`SELECT pg_create_restore_point('${value}')`)
      planned.push({kind, value, boundary: {from, to: now()}})
      writer.resume()
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, began + PIT_SECONDS * 1000 - now())))
  } finally {
    await writer.stop()
  }
  const ended = now()
  for (const kind of kinds.filter((k) => k === 'time')) {
    const at = randomInt(Math.ceil(began) + 1000, Math.floor(ended) - 1000)
    planned.push({kind, value: new Date(at).toISOString(), boundary: {from: at, to: at}})
  }
  return {writes: [baseline, ...writer.writes], planned, began, ended}
}

function summary({expected, eitherWay, missing, extra}: TargetJudgement) {
  return {
    expected,
    eitherWay,
    missing: missing.length,
    extra: extra.length,
    missingIds: missing.slice(0, SAMPLE_IDS),
    extraIds: extra.slice(0, SAMPLE_IDS),
  }
}

async function measurePointInTime(
  engine: Engine,
  stack: BenchStack,
  options: ProtectionOptions,
): Promise<ProtectionResult['pointInTime']> {
  const {writes, planned, began, ended} = await writeOverTime(engine, stack, targetKinds(options.targets), options.log)
  const [baseline, ...written] = writes
  const apiVisits = written.filter((w) => w.ackAt !== undefined && w.ids.length === 1).length
  const batches = written.filter((w) => w.ids.length > 1)
  const failed = written.filter((w) => w.ackAt === undefined).length
  if (failed > 0) throw new Error(`${failed} writes got no acknowledgement while nothing was lost`)
  options.log('point in time: waiting for the archive to hold every write')
  await archivedThroughNow(await psqlOf(engine, stack), 120_000)
  const targets: PitTarget[] = []
  let minFree = await freeBytes()
  for (const target of [...planned].sort((a, b) => b.boundary.to - a.boundary.to)) {
    const atMs = round(target.boundary.from - began, 0)
    options.log(`point in time: db restore --to-${target.kind} ${target.value} (${round(atMs / 1000, 1)} s in)`)
    const restored = await restore(stack, [`--to-${target.kind}`, target.value])
    if (restored.error !== undefined) {
      targets.push({kind: target.kind, value: target.value, atMs, error: restored.error})
      options.log(`point in time: the restore failed: ${restored.error}`)
      continue
    }
    const judged = judgeTarget(writes, target.boundary, await ids(await psqlOf(engine, stack)))
    targets.push({kind: target.kind, value: target.value, atMs, restoreMs: restored.ms, ...summary(judged)})
    options.log(
      `point in time: ${judged.expected} expected, ${judged.missing.length} missing, ${judged.extra.length} extra, ${judged.eitherWay} either way, restore ${restored.ms} ms`,
    )
    await pruneOld(stack, restored.from)
    minFree = Math.min(minFree, await freeBytes())
    if (minFree < MIN_FREE_BYTES) throw new Error(`only ${round(minFree / 1e9, 1)} GB left on the engine's disk`)
  }
  const batchVisits = batches.reduce((sum, w) => sum + w.ids.length, 0)
  return {
    visitsBefore: baseline.ids.length,
    visits: apiVisits + batchVisits,
    spanSeconds: round((ended - began) / 1000, 1),
    apiVisits,
    batchVisits,
    batches: batches.length,
    targets,
    minFreeGB: round(minFree / 1e9, 1),
  }
}

async function counts(psql: Psql): Promise<{rows: number; counted: number}> {
  const [rows, counted] = (
    await psql.query('SELECT (SELECT count(*) FROM visits), (SELECT coalesce(sum(n), 0) FROM visit_counter)')
  )
    .split('|')
    .map(Number)
  return {rows, counted}
}

async function measureScale(
  engine: Engine,
  stack: BenchStack,
  options: ProtectionOptions,
): Promise<ProtectionResult['scale']> {
  let psql = await psqlOf(engine, stack)
  const before = await counts(psql)
  options.log(`scale: ${before.rows} visits in the table, growing it to ${options.rows} if fewer`)
  if (options.rows > before.rows) await psql.query(growSql(options.rows - before.rows))
  const grown = await counts(psql)
  options.log(`scale: snapshot create at ${grown.rows} visits`)
  const backup = await runCli(['snapshot', 'create', ...stack.cliArgs, '--json'], stack.env)
  const snapshot = JSON.parse(backup.stdout) as {sizeBytes: number}
  await archivedThroughNow(psql, 300_000)
  options.log('scale: volume lost, db restore --latest')
  await loseVolume(engine, stack)
  const restored = await restore(stack, ['--latest'])
  if (restored.error !== undefined)
    throw new Error(`db restore --latest at ${grown.rows} visits failed: ${restored.error}`)
  psql = await psqlOf(engine, stack)
  const after = await counts(psql)
  return {
    visits: grown.rows,
    backupMs: round(backup.ms, 0),
    backupBytes: snapshot.sizeBytes,
    restoreMs: restored.ms,
    restoredVisits: after.rows,
    exact: grown.rows === grown.counted && after.rows === grown.rows && after.counted === grown.rows,
  }
}

/** Starts both stacks (archiving on, and off) and runs the four steps; the caller removes the stacks. */
export async function measureProtection(
  engine: Engine,
  stacks: {on: BenchStack; off: BenchStack},
  options: ProtectionOptions,
): Promise<ProtectionResult> {
  const startedAt = new Date().toISOString()
  const loadavgBefore = loadavg().map((l) => round(l))
  options.log(`starting stacks ${stacks.on.project} (archiving) and ${stacks.off.project} (--no-wal-archive)`)
  await startStack(stacks.on)
  await startStack(stacks.off, undefined, ['--no-wal-archive'])
  for (const [stack, expected] of [
    [stacks.on, 'on'],
    [stacks.off, 'off'],
  ] as const) {
    const mode = await (await psqlOf(engine, stack)).query('SHOW archive_mode')
    if (mode !== expected) throw new Error(`${stack.project}: archive_mode is ${mode}, expected ${expected}`)
  }
  const cost = await measureCost(engine, stacks, options)
  // Only the archiving stack is needed from here on: the other one's containers stop taking CPU.
  await runCli(['down', ...stacks.off.cliArgs], stacks.off.env)
  const runs: RecoveryRun[] = []
  for (let i = 0; i < options.runs; i++) {
    options.log(`recovery point: run ${i + 1} of ${options.runs}`)
    runs.push(await measureRecoveryRun(engine, stacks.on, options))
  }
  const pointInTime = await measurePointInTime(engine, stacks.on, options)
  const scale = await measureScale(engine, stacks.on, options)
  return {
    startedAt,
    finishedAt: new Date().toISOString(),
    loadavgBefore,
    loadavgAfter: loadavg().map((l) => round(l)),
    archiveTimeoutSeconds: ARCHIVE_TIMEOUT_SECONDS,
    cost,
    recovery: {runs, writeSeconds: RECOVERY_WRITE_SECONDS, connections: RECOVERY_CONNECTIONS},
    pointInTime,
    scale,
  }
}
