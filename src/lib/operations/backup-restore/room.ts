/**
 * Room for a restore. The restored copy is made inside the live cluster, on the same filesystem as the live
 * database's WAL: a restore that fills it makes the live server PANIC (it cannot write its WAL) and crash-loop.
 * So the room is estimated before anything is created (refused with the numbers when short), and watched while
 * pg_restore writes: it is stopped while a reserve is still free, however wrong the estimate was.
 */
import {DB_NAME} from '../../model/config/stack-config.js'
import type {Engine} from '../../engine/engine.js'
import {StackctlError} from '../../errors.js'
import type {StackContext} from '../../stack/context.js'
import {parseAvailable} from '../upgrade/plan.js'
import type {Psql} from './database.js'
import {formatBytes} from './format.js'

const MiB = 1024 * 1024
/** Kept free for the live server at all times: a few WAL segments, its checkpoint, the swap's own writes. */
export const MIN_RESERVE_BYTES = 64 * MiB
/** Headroom on the rows' size: the live table's layout is a sample, the restored one may be laid out looser. */
const ROWS_MARGIN = 1.25
/** Fewer live rows than this are too few to measure a row's size by: the empty table's pages dominate. */
const MIN_SAMPLE_ROWS = 1000
/** A visit as stored (heap tuple with its line pointer, its share of the primary key): 67 bytes measured on PG 17. */
export const DEFAULT_BYTES_PER_ROW = 80
/**
 * Without a record's count, the dump's size times this: visits compress about 14:1 in pg_dump's custom
 * format (measured on PG 17: 300,000 visits, a 1.41 MiB dump, a 19.1 MiB table with its index); a generous
 * factor, as being short is what hurts.
 */
export const DUMP_EXPANSION = 25
/** How often free space is read while pg_restore runs. */
export const WATCH_INTERVAL_MS = 500

/** What the db container and its server say, for the estimate. */
export interface RoomFacts {
  freeBytes: number
  /** An empty database (CREATE DATABASE copies template1). */
  templateBytes: number
  /** The live `visits` table: its rows and its size with its indexes; null when it cannot be read. */
  liveRows: number | null
  liveTableBytes: number | null
  walSegmentBytes: number
}

export interface RoomEstimate {
  /** The restored database's files. */
  restoredBytes: number
  /** The WAL the restore writes: every page of the copy once more, until a checkpoint recycles it. */
  walBytes: number
  reserveBytes: number
  neededBytes: number
  freeBytes: number
  /** How the restored size was estimated, in words. */
  basis: string
}

export function reserveBytes(walSegmentBytes: number): number {
  return Math.max(MIN_RESERVE_BYTES, 4 * walSegmentBytes)
}

/** Pure: the room a restore of `rows` visits (from the record) or of a `dumpBytes` dump needs, and whether it fits. */
export function estimateRoom(facts: RoomFacts, backup: {rows: number | null; dumpBytes: number}): RoomEstimate {
  let dataBytes: number
  let basis: string
  if (backup.rows !== null) {
    const measured =
      facts.liveRows !== null && facts.liveTableBytes !== null && facts.liveRows >= MIN_SAMPLE_ROWS
        ? facts.liveTableBytes / facts.liveRows
        : undefined
    const perRow = Math.max(measured ?? DEFAULT_BYTES_PER_ROW, 1)
    dataBytes = Math.ceil(backup.rows * perRow * ROWS_MARGIN)
    basis = `${backup.rows} visits × ${Math.round(perRow)} bytes (${measured === undefined ? 'a typical visit' : 'as stored now'}) + ${Math.round((ROWS_MARGIN - 1) * 100)}%`
  } else {
    dataBytes = backup.dumpBytes * DUMP_EXPANSION
    basis = `the dump's ${formatBytes(backup.dumpBytes)} × ${DUMP_EXPANSION} (no record counts its visits)`
  }
  const restoredBytes = facts.templateBytes + dataBytes
  const walBytes = restoredBytes
  const reserve = reserveBytes(facts.walSegmentBytes)
  return {
    restoredBytes,
    walBytes,
    reserveBytes: reserve,
    neededBytes: restoredBytes + walBytes + reserve,
    freeBytes: facts.freeBytes,
    basis,
  }
}

/** The refusal of a restore that does not fit; null when it does. */
export function roomProblem(estimate: RoomEstimate, volume: string): StackctlError | null {
  if (estimate.freeBytes >= estimate.neededBytes) return null
  const e = estimate
  return new StackctlError(
    `not enough space in volume ${volume} to restore: it needs about ${formatBytes(e.neededBytes)} ` +
      `(the restored copy ${formatBytes(e.restoredBytes)} [${e.basis}], its WAL ${formatBytes(e.walBytes)}, ` +
      `a reserve of ${formatBytes(e.reserveBytes)} kept free for the live database), ${formatBytes(e.freeBytes)} is free`,
    {
      exitCode: 2,
      suggestion:
        'make room on the filesystem that holds the volume and try again; the restore is made next to the live data, which is kept until the new copy is proven; the current data was not changed',
    },
  )
}

/** `df` of the filesystem holding PGDATA, from inside the db container. */
export async function freeBytes(engine: Engine, containerId: string, dataDirectory: string): Promise<number> {
  const result = await engine.containers.exec(containerId, ['df', '-B1', '--output=avail', dataDirectory])
  const available = result.exitCode === 0 ? parseAvailable(result.stdout) : undefined
  if (available === undefined) {
    throw new StackctlError(`cannot tell the free space in the db container: ${result.stderr.trim() || result.stdout}`)
  }
  return available
}

const FACTS_SQL = `SELECT current_setting('data_directory') || '|' || pg_database_size('template1') || '|' ||
  pg_size_bytes(current_setting('wal_segment_size')) || '|' ||
  coalesce((SELECT pg_total_relation_size(c.oid) || '|' || greatest(c.reltuples, 0)::bigint
            FROM pg_class c WHERE c.oid = to_regclass('public.visits')), '|')`

/** The facts of the estimate, measured in the db container. `liveRows`: the exact count when the caller has it. */
export async function measureRoom(
  engine: Engine,
  psql: Psql,
  database: string,
  liveRows: number | null,
): Promise<RoomFacts & {dataDirectory: string}> {
  const [dataDirectory, template, segment, table, estimatedRows] = (await psql.query(FACTS_SQL, database))
    .split('|')
    .map((part) => part.trim())
  const number = (text: string | undefined) => (text && /^\d+$/.test(text) ? Number(text) : null)
  return {
    dataDirectory,
    freeBytes: await freeBytes(engine, psql.containerId, dataDirectory),
    templateBytes: number(template) ?? 0,
    walSegmentBytes: number(segment) ?? 16 * MiB,
    liveTableBytes: number(table),
    liveRows: liveRows ?? number(estimatedRows),
  }
}

/**
 * Reads free space every WATCH_INTERVAL_MS until stopped; the first reading under `reserve` is passed to
 * `onLow` (once), which stops what is writing. Readings that fail are skipped: the watch never fails the restore.
 */
export function watchFreeSpace(
  read: () => Promise<number>,
  reserve: number,
  onLow: (free: number) => Promise<void>,
): {stop: () => Promise<void>; low: () => number | undefined} {
  let running = true
  let lowAt: number | undefined
  let wake: (() => void) | undefined
  const loop = (async () => {
    while (running) {
      const free = await read().catch(() => undefined)
      if (free !== undefined && free < reserve && running) {
        lowAt = free
        await onLow(free).catch(() => {})
        return
      }
      await new Promise<void>((resolve) => {
        wake = resolve
        setTimeout(resolve, WATCH_INTERVAL_MS)
      })
    }
  })()
  return {
    stop: async () => {
      running = false
      wake?.()
      await loop
    },
    low: () => lowAt,
  }
}

export type Room = RoomEstimate & {dataDirectory: string}

/** Measures, estimates and refuses (exit 2, with the numbers) a restore that would not fit; changes nothing. */
export async function assertRoom(
  ctx: StackContext,
  psql: Psql,
  what: {volume: string; visitsBefore: number | null; rows: number | null; dumpBytes: number},
): Promise<Room> {
  const facts = await measureRoom(ctx.engine, psql, DB_NAME, what.visitsBefore)
  const estimate = estimateRoom(facts, {rows: what.rows, dumpBytes: what.dumpBytes})
  const problem = roomProblem(estimate, what.volume)
  if (problem) throw problem
  ctx.progress(
    `restore: room: about ${formatBytes(estimate.neededBytes)} needed with the reserve, ${formatBytes(estimate.freeBytes)} free`,
  )
  return {...estimate, dataDirectory: facts.dataDirectory}
}
