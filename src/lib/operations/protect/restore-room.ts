/**
 * Room for a point-in-time restore (`db restore`, `snapshot restore`). The new volume is made, by default, on
 * the filesystem that holds the live database's volume (the engine's volume directory): a restore that fills it
 * leaves the LIVE server unable to write its WAL (PANIC, crash loop), the stack down because of a restore that
 * was to leave it untouched. So the new volume's free space is measured before the recovery starts and the
 * restore refused with the numbers when short, and it is watched while pgBackRest restores and the server
 * replays: the recovery is stopped while the live server's reserve is still free, however wrong the estimate.
 *
 * The new volume gets the old one's driver and options (a bind mount on a big disk stays there), or the user's
 * `--volume-opt`; never a volume in memory: a tmpfs loses its files when the recovery server stops and nothing
 * mounts it until the stack's db starts on it.
 */
import type {Engine} from '../../engine/engine.js'
import {StackctlError, UsageError} from '../../errors.js'
import {stackCommand} from '../../model/config/command-line.js'
import type {StackConfig} from '../../model/config/stack-config.js'
import {formatBytes} from '../backup-restore/format.js'
import {reserveBytes} from '../backup-restore/room.js'
import type {Psql} from '../db/psql.js'
import {inMemory, newVolumeDriver, parseAvailable, shellQuote, type VolumeDriver} from '../upgrade/plan.js'
import type {RecoveryTarget} from './recovery.js'

const MiB = 1024 * 1024
/** PostgreSQL's default max_wal_size, when no live server says its own. */
export const DEFAULT_MAX_WAL_BYTES = 1024 * MiB
export const DEFAULT_WAL_SEGMENT_BYTES = 16 * MiB
/** PostgreSQL's default min_wal_size: the segments a checkpoint keeps, recycled, for the WAL to come. */
export const DEFAULT_MIN_WAL_BYTES = 80 * MiB

/** What the estimate is made of; every number measured (or read from the repository) by the caller. */
export interface RestoreRoomFacts {
  /** Free bytes on the new volume's filesystem. */
  freeBytes: number
  /** The chosen backup's database size (pgBackRest info `backup[].info.size`); 0 when the repository does not say. */
  backupBytes: number
  /** The live cluster's databases (null without a running db): the replay rebuilds what was written since. */
  liveBytes: number | null
  /** WAL segments the replay crosses, from the backup's first to the last one it may need. */
  walSegments: number
  walSegmentBytes: number
  /** The most WAL the recovery server keeps before a restartpoint recycles it (its max_wal_size). */
  maxWalBytes: number
  /** The WAL it keeps however little it replays: recycled segments up to min_wal_size. */
  minWalBytes: number
}

export interface RestoreRoomEstimate {
  /** The restored cluster's files. */
  dataBytes: number
  /** Which size `dataBytes` is: the backup's, or the live cluster's when that is larger. */
  dataBasis: 'backup' | 'live'
  /**
   * pg_wal of the recovery server: the segments it replays and two more, at least min_wal_size and one more
   * (recycled segments are kept: 4 segments measured after a 2-segment replay), at most max_wal_size and two more.
   */
  walBytes: number
  /** Kept free at all times for the live server (it may share the filesystem). */
  reserveBytes: number
  neededBytes: number
  freeBytes: number
}

/** Pure: the room a restore needs on the new volume's filesystem, and what is free there. */
export function estimateRestoreRoom(facts: RestoreRoomFacts): RestoreRoomEstimate {
  const backup = Math.max(0, facts.backupBytes)
  const live = Math.max(0, facts.liveBytes ?? 0)
  const dataBytes = Math.max(backup, live)
  const segment = facts.walSegmentBytes > 0 ? facts.walSegmentBytes : DEFAULT_WAL_SEGMENT_BYTES
  const most = Math.ceil(Math.max(0, facts.maxWalBytes) / segment) + 2
  const least = Math.ceil(Math.max(0, facts.minWalBytes) / segment) + 1
  const walBytes = Math.min(Math.max(Math.max(1, facts.walSegments) + 2, least), most) * segment
  const reserve = reserveBytes(segment)
  return {
    dataBytes,
    dataBasis: live > backup ? 'live' : 'backup',
    walBytes,
    reserveBytes: reserve,
    neededBytes: dataBytes + walBytes + reserve,
    freeBytes: facts.freeBytes,
  }
}

/** WAL file name → its segment number (timeline left out); undefined for anything else. */
export function segmentNumber(walFile: string, segmentBytes: number): number | undefined {
  const match = /^[0-9A-F]{8}([0-9A-F]{8})([0-9A-F]{8})/i.exec(walFile)
  if (!match) return undefined
  return Number.parseInt(match[1], 16) * Math.floor(0x1_0000_0000 / segmentBytes) + Number.parseInt(match[2], 16)
}

/** Segments from the backup's first WAL to the archive's last, both included (1 when either is unknown). */
export function segmentsBetween(first: string, last: string, segmentBytes: number): number {
  const from = segmentNumber(first, segmentBytes)
  const to = segmentNumber(last, segmentBytes)
  return from === undefined || to === undefined ? 1 : Math.max(1, to - from + 1)
}

/** The refusal of a restore that does not fit; null when it does. */
export function restoreRoomProblem(
  estimate: RestoreRoomEstimate,
  volume: string,
  hintCommand: string,
): StackctlError | null {
  if (estimate.freeBytes >= estimate.neededBytes) return null
  const e = estimate
  return new StackctlError(
    `not enough space for the restore: the new volume ${volume} has ${formatBytes(e.freeBytes)} free, the restore needs about ${formatBytes(e.neededBytes)} ` +
      `(the data ${formatBytes(e.dataBytes)} [${e.dataBasis === 'live' ? "the live cluster's size, larger than the backup's" : "the backup's size"}], ` +
      `the WAL the replay keeps ${formatBytes(e.walBytes)}, a reserve of ${formatBytes(e.reserveBytes)} kept free for the live database)`,
    {
      exitCode: 2,
      suggestion: elsewhere(
        `make room on the filesystem that holds ${volume} and run ${hintCommand} again`,
        hintCommand,
      ),
    },
  )
}

/** The command line a hint repeats: the command, the stack's own flags and the target as it was asked. */
export function restoreHint(
  config: Pick<StackConfig, 'dir' | 'project'>,
  command: string,
  target: RecoveryTarget,
): string {
  return [stackCommand(config, command), ...targetWords(target)].join(' ')
}

export function targetWords(target: RecoveryTarget): string[] {
  switch (target.kind) {
    case 'latest':
      return ['--latest']
    case 'time':
      return ['--to-time', target.time.toISOString()]
    case 'name':
      return ['--to-name', shellQuote(target.name)]
    case 'lsn':
      return ['--to-lsn', target.lsn]
    case 'snapshot':
      return [shellQuote(target.name)]
  }
}

/**
 * The new volume's driver and options (the old volume's, or `--volume-opt`); never in memory: a tmpfs is
 * unmounted, its files gone, between the recovery server's stop and the db's start on it.
 */
export function restoreVolumeDriver(
  old: VolumeDriver,
  requested: Record<string, string> | undefined,
  command: string,
  hintCommand: string,
): {driver: string; options: Record<string, string>} {
  const options = requested ?? old.options
  if (inMemory(options)) {
    const from = requested ? '--volume-opt puts' : `the options of ${old.name}, which the new volume would get, put`
    throw new UsageError(
      `${from} the new volume in memory (tmpfs): its files would be gone when the recovery server stops, before the stack's db starts on it`,
      requested
        ? 'pass --volume-opt options of a volume on disk instead, e.g. --volume-opt type=none --volume-opt o=bind --volume-opt device=DIR (DIR an empty directory)'
        : `give the new volume storage on disk: ${hintCommand} --volume-opt type=none --volume-opt o=bind --volume-opt device=DIR (DIR an empty directory)`,
    )
  }
  const {driver, options: chosen} = newVolumeDriver(old, requested, false, command)
  return {driver, options: chosen}
}

/**
 * One throw-away container with the new volume (and the old one, when it exists) mounted read-only: the new
 * volume's free space, whether it is empty (a bind mount's directory may hold files: a restore writes only into
 * an empty one, and only then may its undo clear what it wrote) and whether it is storage of its own (its root's
 * device and inode differ from the old one's: a bind mount spelled differently can still reach the live data).
 */
export async function probeNewVolume(
  engine: Engine,
  image: string,
  volume: string,
  old: string | undefined,
): Promise<{freeBytes: number}> {
  const script = [
    'echo "free $(df -B1 --output=avail /new | tail -n 1)"',
    'echo "entries $(ls -A /new | wc -l)"',
    'echo "new $(stat -c %d:%i /new)"',
    ...(old ? ['echo "old $(stat -c %d:%i /old)"'] : []),
  ].join('; ')
  let probe
  try {
    probe = await engine.containers.runOneShot({
      image,
      entrypoint: ['sh'],
      cmd: ['-c', script],
      readOnlyVolumes: {[volume]: '/new', ...(old ? {[old]: '/old'} : {})},
    })
  } catch (error) {
    throw new StackctlError(`the new volume ${volume} cannot be mounted: ${firstLine(error)}`, {
      exitCode: 2,
      suggestion: 'check the --volume-opt options (a bind mount needs an existing directory)',
    })
  }
  const said = parseProbe(probe.stdout)
  const freeBytes = parseAvailable(said.free ?? '')
  if (probe.exitCode !== 0 || freeBytes === undefined || !said.new || !said.entries) {
    throw new StackctlError(`cannot tell the free space of ${volume}: ${probe.stderr.trim() || probe.stdout.trim()}`)
  }
  if (old && said.old === said.new) {
    throw new StackctlError(`the new volume ${volume} is the storage of ${old} itself (the same directory)`, {
      exitCode: 2,
      suggestion:
        'pass --volume-opt device=<another, empty directory> (with the other --volume-opt options of a bind mount)',
    })
  }
  if (said.entries !== '0') {
    throw new StackctlError(
      `the new volume ${volume} is not empty (${said.entries} ${said.entries === '1' ? 'entry' : 'entries'}): a restore writes only into an empty directory, and never over files`,
      {exitCode: 2, suggestion: 'give the new volume an empty directory of its own (--volume-opt device=…)'},
    )
  }
  return {freeBytes}
}

/** `key value` lines → a record. */
export function parseProbe(stdout: string): Record<string, string> {
  const said: Record<string, string> = {}
  for (const line of stdout.split('\n')) {
    const match = /^(\w+) (.*)$/.exec(line.trim())
    if (match) said[match[1]] = match[2].trim()
  }
  return said
}

/**
 * Clears a new volume whose files outlive its removal (a bind mount, a device): what a stopped recovery wrote
 * there. Only for a volume the probe found empty, after the recovery server is gone.
 */
export async function clearNewVolume(
  engine: Engine,
  spec: {name: string; image: string; volume: string; labels: Record<string, string>},
): Promise<void> {
  const id = await engine.containers.start({
    name: spec.name,
    image: spec.image,
    env: [],
    cmd: ['find', '/new', '-mindepth', '1', '-delete'],
    labels: spec.labels,
    volumes: {[spec.volume]: '/new'},
    readOnlyFiles: {},
  })
  try {
    const deadline = Date.now() + 120_000
    let details = await engine.containers.inspect(id)
    while (details?.running && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200))
      details = await engine.containers.inspect(id)
    }
    if (!details || details.running || details.exitCode !== 0) {
      const log = await engine.containers.logTail(id, 3).catch(() => '')
      throw new StackctlError(
        `cannot clear what the recovery wrote in ${spec.volume}: ${log.trim() || 'it did not finish'}`,
      )
    }
  } finally {
    await engine.containers.remove(id)
  }
}

const LIVE_SQL = `SELECT (SELECT sum(pg_database_size(oid)) FROM pg_database)::bigint || '|' ||
  pg_size_bytes(current_setting('max_wal_size')) || '|' || pg_size_bytes(current_setting('wal_segment_size')) || '|' ||
  pg_size_bytes(current_setting('min_wal_size'))`

/** The live cluster's size and WAL settings; null when no db answers (a restore after the data was lost). */
export async function liveCluster(
  psql: Psql | undefined,
): Promise<{liveBytes: number; maxWalBytes: number; walSegmentBytes: number; minWalBytes: number} | null> {
  const answer = await psql?.tryQuery(LIVE_SQL.replace(/\n/g, ' '), 'postgres')
  const [live, maxWal, segment, minWal] = (answer ?? '').split('|').map((part) => part.trim())
  if (![live, maxWal, segment, minWal].every((part) => part !== undefined && /^\d+$/.test(part))) return null
  return {
    liveBytes: Number(live),
    maxWalBytes: Number(maxWal),
    walSegmentBytes: Number(segment),
    minWalBytes: Number(minWal),
  }
}

/** The line a refused or stopped restore's progress gives before it starts: what it needs and what is free. */
export function roomLine(e: RestoreRoomEstimate, volume: string): string {
  return `room: about ${formatBytes(e.neededBytes)} needed on ${volume} with the reserve, ${formatBytes(e.freeBytes)} free`
}

/** The error of a recovery stopped by the free-space watch. */
export function stoppedForRoom(volume: string, free: number, reserve: number, hintCommand: string): StackctlError {
  return new StackctlError(
    `stopped the recovery: ${volume}'s filesystem has ${formatBytes(free)} free, under the ${formatBytes(reserve)} kept for the live database`,
    {
      exitCode: 2,
      suggestion: elsewhere(`make room on that filesystem and run ${hintCommand} again`, hintCommand),
    },
  )
}

function elsewhere(first: string, hintCommand: string): string {
  return `${first}, or put the new volume on a bigger disk: ${hintCommand} --volume-opt type=none --volume-opt o=bind --volume-opt device=DIR (DIR an empty directory there)`
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error))
    .replace(/^\(HTTP code \d+\) [^-]*- /, '')
    .split('\n')[0]
}
