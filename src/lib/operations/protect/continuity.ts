/**
 * Whether the WAL archive is continuous: every segment from the oldest backup's start to the newest archived
 * one, along the timeline history a restore follows. pgBackRest's own `verify` says ok with a segment missing in
 * the middle, and a restore past it fails (or, without a target, stops there silently), so doctor looks itself.
 * One `find` of the repository's files (no pgBackRest process: it answers even while pgBackRest is failing);
 * the parsing and the judgement are pure.
 */
import type {Engine} from '../../engine/engine.js'
import type {CommandFor} from '../../model/config/command-line.js'
import {REPO_PATH, STANZA} from '../../model/protection.js'

export interface ArchivedSegment {
  name: string
  timeline: number
  /** ms since the epoch: when pgBackRest wrote it into the repository. */
  archivedAt: number
}

export interface BackupStart {
  label: string
  /** The first WAL segment the backup needs. */
  archiveStart: string
  /** Unix seconds. */
  stop: number
}

export interface ArchiveListing {
  /** Whole segments of the newest archive id (`.partial` and `.backup` files are not segments). */
  segments: ArchivedSegment[]
  /** Each timeline's history file: its ancestors, oldest first, with the LSN where each one ended. */
  histories: Map<number, Array<{timeline: number; endLsn: bigint}>>
  backups: BackupStart[]
}

/** Three kinds of line: `file <mtime> <path>`, `history <file> <line>`, `backup <label>={json}`. */
export const ARCHIVE_LISTING_COMMAND = [
  'sh',
  '-c',
  [
    `cd ${REPO_PATH} || exit 0`,
    `find archive/${STANZA} -type f -printf 'file %T@ %P\\n' 2>/dev/null`,
    `for f in archive/${STANZA}/*/*.history; do [ -f "$f" ] || continue; ` +
      `while IFS= read -r line; do echo "history $f $line"; done < "$f"; done`,
    `grep -E '^[0-9]{8}-[0-9]{6}F[^=]*=' backup/${STANZA}/backup.info 2>/dev/null | sed 's/^/backup /'`,
    'exit 0',
  ].join('\n'),
]

const SEGMENT_FILE = /^([0-9A-F]{24})-[0-9a-f]{40}(\.[a-z0-9]+)?$/

/** The archive id (`17-1`) with the highest history number: a stanza-upgrade starts a new one. */
function archiveIdOrder(id: string): number {
  return Number(/-(\d+)$/.exec(id)?.[1] ?? 0)
}

export function parseArchiveListing(output: string): ArchiveListing {
  const files: Array<{id: string; file: string; archivedAt: number}> = []
  const historyLines: Array<{id: string; timeline: number; line: string}> = []
  const backups: Array<BackupStart & {dbId?: number}> = []
  for (const line of output.split('\n')) {
    const file = /^file (\S+) ([^/]+)\/(?:[0-9A-F]{16}\/)?([^/]+)$/.exec(line)
    if (file) files.push({id: file[2], file: file[3], archivedAt: Math.round(Number(file[1]) * 1000)})
    const history = /^history \S+?\/([^/]+)\/([0-9A-F]{8})\.history (.*)$/.exec(line)
    if (history) historyLines.push({id: history[1], timeline: Number.parseInt(history[2], 16), line: history[3]})
    const backup = /^backup ([^=]+)=(\{.*\})$/.exec(line)
    if (backup) {
      try {
        const raw = JSON.parse(backup[2]) as {
          'backup-archive-start'?: string
          'backup-timestamp-stop'?: number
          'db-id'?: number
        }
        if (raw['backup-archive-start']) {
          backups.push({
            label: backup[1],
            archiveStart: raw['backup-archive-start'],
            stop: raw['backup-timestamp-stop'] ?? 0,
            ...(raw['db-id'] === undefined ? {} : {dbId: raw['db-id']}),
          })
        }
      } catch {
        // A half-written backup.info line: pgBackRest rewrites the file whole; the next look reads it.
      }
    }
  }
  const ids = [...new Set(files.map((f) => f.id).filter((id) => /^\d+-\d+$/.test(id)))]
  const current = ids.sort((a, b) => archiveIdOrder(a) - archiveIdOrder(b)).at(-1)
  const segments: ArchivedSegment[] = []
  for (const {id, file, archivedAt} of files) {
    const match = SEGMENT_FILE.exec(file)
    if (id === current && match) {
      segments.push({name: match[1], timeline: Number.parseInt(match[1].slice(0, 8), 16), archivedAt})
    }
  }
  const histories = new Map<number, Array<{timeline: number; endLsn: bigint}>>()
  for (const {id, timeline, line} of historyLines) {
    // `1	0/7000000	after LSN 0/6000190`: the parent timeline, where it ended, why.
    const entry = /^\s*(\d+)\s+([0-9A-F]+)\/([0-9A-F]+)/i.exec(line)
    if (id !== current || !entry) continue
    const list = histories.get(timeline) ?? []
    list.push({timeline: Number(entry[1]), endLsn: (BigInt(`0x${entry[2]}`) << 32n) + BigInt(`0x${entry[3]}`)})
    histories.set(timeline, list)
  }
  // An earlier cluster's backups (before a stanza-upgrade) start in its own archive id, not in this one.
  const dbId = current === undefined ? undefined : archiveIdOrder(current)
  const ours = backups
    .filter((b) => b.dbId === undefined || dbId === undefined || b.dbId === dbId)
    .map(({dbId: _id, ...b}) => b)
  return {segments, histories, backups: ours}
}

export interface ArchiveGap {
  /** The missing segments, as the timeline a restore would read them from names them. */
  first: string
  last: string
  count: number
  /** Where the missing WAL starts: a restore cannot reach past it. */
  fromLsn: string
  /** The archived segment just before the gap, when there is one. */
  before?: ArchivedSegment
  /** The oldest backup that starts after the gap: times after it ended are recoverable. */
  coveredBy?: BackupStart
}

export interface Continuity {
  newest?: ArchivedSegment
  gaps: ArchiveGap[]
}

interface Leg {
  timeline: number
  begin: bigint
  end: bigint
}

const FOUR_GB = 0x100000000n

/**
 * The timelines a restore to the newest timeline reads, each with the LSN range it covers; undefined when
 * the newest timeline's history file is missing (then any timeline's copy of a segment counts).
 */
function restorePath(listing: ArchiveListing, newest: number): Leg[] | undefined {
  if (newest === 1) return [{timeline: 1, begin: 0n, end: 2n ** 64n}]
  const history = listing.histories.get(newest)
  if (!history) return undefined
  const legs: Leg[] = []
  let begin = 0n
  for (const {timeline, endLsn} of history) {
    legs.push({timeline, begin, end: endLsn})
    begin = endLsn
  }
  legs.push({timeline: newest, begin, end: 2n ** 64n})
  return legs
}

export function segmentNumber(name: string, segmentBytes: number): bigint {
  const perLog = FOUR_GB / BigInt(segmentBytes)
  return BigInt(`0x${name.slice(8, 16)}`) * perLog + BigInt(`0x${name.slice(16, 24)}`)
}

function segmentName(timeline: number, number: bigint, segmentBytes: number): string {
  const perLog = FOUR_GB / BigInt(segmentBytes)
  const hex = (value: bigint | number) => value.toString(16).toUpperCase().padStart(8, '0')
  return `${hex(timeline)}${hex(number / perLog)}${hex(number % perLog)}`
}

function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`
}

/**
 * Gaps from the oldest backup's first segment to the newest archived one. A segment counts when a timeline of
 * the restore path that covers its LSN range holds it: after a timeline switch the segments of the new timeline
 * take over, and the old timeline's segments past the switch are not needed. The segment being written (and
 * those waiting to be archived) come after the newest archived one, so they are never a gap.
 */
export function findGaps(listing: ArchiveListing, segmentBytes: number): Continuity {
  const {segments} = listing
  if (segments.length === 0) return {gaps: []}
  const bytes = BigInt(segmentBytes)
  const newestTimeline = Math.max(...segments.map((s) => s.timeline), ...listing.histories.keys())
  const legs = restorePath(listing, newestTimeline)
  const covers = (leg: Leg, number: bigint) => leg.begin < (number + 1n) * bytes && leg.end > number * bytes
  const counted = new Map<bigint, ArchivedSegment>()
  for (const segment of segments) {
    const number = segmentNumber(segment.name, segmentBytes)
    const onPath = legs
      ? legs.some((leg) => leg.timeline === segment.timeline && covers(leg, number))
      : segment.timeline <= newestTimeline
    const held = counted.get(number)
    if (onPath && (!held || held.timeline < segment.timeline)) counted.set(number, segment)
  }
  const numbers = [...counted.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  if (numbers.length === 0) return {gaps: []}
  const newest = counted.get(numbers.at(-1)!)!
  const starts = listing.backups
    .map((backup) => ({backup, number: segmentNumber(backup.archiveStart, segmentBytes)}))
    .sort((a, b) => (a.number < b.number ? -1 : a.number > b.number ? 1 : 0))
  if (starts.length === 0) return {newest, gaps: []}
  // The timeline a restore reads a missing segment from: the newest one of the path that covers it.
  const readFrom = (number: bigint) => legs?.filter((leg) => covers(leg, number)).at(-1)?.timeline ?? newest.timeline
  const gaps: ArchiveGap[] = []
  let expected = starts[0].number
  for (const number of numbers) {
    if (number < expected) continue
    if (number > expected) {
      const last = number - 1n
      const before = counted.get(expected - 1n)
      const coveredBy = starts.find((start) => start.number > last)?.backup
      gaps.push({
        first: segmentName(readFrom(expected), expected, segmentBytes),
        last: segmentName(readFrom(last), last, segmentBytes),
        count: Number(number - expected),
        fromLsn: formatLsn(expected * bytes),
        ...(before ? {before} : {}),
        ...(coveredBy ? {coveredBy} : {}),
      })
    }
    expected = number + 1n
  }
  return {newest, gaps}
}

const iso = (ms: number) => new Date(ms).toISOString()

function missingSegments(gap: ArchiveGap): string {
  return gap.count === 1
    ? `segment ${gap.first} is missing`
    : `${gap.count} segments are missing, ${gap.first} to ${gap.last}`
}

/** Where the missing WAL starts, and when the last segment before it was archived. */
function gapStart(gap: ArchiveGap): string {
  return `LSN ${gap.fromLsn}${gap.before ? ` (the segment before it was archived at ${iso(gap.before.archivedAt)})` : ''}`
}

/**
 * The archiving check's verdict on gaps; undefined without one. A gap after the newest backup fails: the
 * newest writes cannot be restored until a full backup is taken after it. A gap that a later backup covers
 * only cuts a stretch out of the past: a warning.
 */
export function gapCheck(
  continuity: Continuity,
  command: CommandFor,
): {status: 'fail' | 'warn'; detail: string; fix?: string} | undefined {
  const {gaps} = continuity
  if (gaps.length === 0) return undefined
  const more = gaps.length > 1 ? ` (${gaps.length} gaps in all)` : ''
  const open = gaps.find((gap) => !gap.coveredBy)
  if (open) {
    return {
      status: 'fail',
      detail: `the WAL archive has a gap: ${missingSegments(open)}: a point-in-time restore cannot reach past ${gapStart(open)}${more}; times after the next full backup are recoverable again`,
      // A snapshot is a full backup taken without pgBackRest's automatic expiry: a plain `pgbackrest backup`
      // would expire every full backup but the newest two, the user's named snapshots among them.
      fix: `take a full backup now: ${command('snapshot create')} (a named snapshot: a full backup the archive is whole from)`,
    }
  }
  const last = gaps.at(-1)!
  const backup = last.coveredBy!
  return {
    status: 'warn',
    detail: `the WAL archive has a gap before backup ${backup.label}: ${missingSegments(last)}${more}: a point-in-time restore cannot reach a time from ${gapStart(last)} until that backup ended (${iso(backup.stop * 1000)}); times after it are recoverable; this stays so while a backup from before the gap is kept (stackctl expires none on its own)`,
  }
}

/** Best-effort: undefined when the repository cannot be read (the check then judges without it). */
export async function readArchiveListing(engine: Engine, dbId: string): Promise<ArchiveListing | undefined> {
  try {
    const result = await engine.containers.exec(dbId, ARCHIVE_LISTING_COMMAND)
    return result.exitCode === 0 ? parseArchiveListing(result.stdout) : undefined
  } catch {
    return undefined
  }
}
