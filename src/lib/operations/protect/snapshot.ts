/**
 * Named snapshots (`stackctl snapshot …`) as data: a snapshot is a full pgBackRest backup carrying stackctl's
 * annotations (its name and the visits counted when it was taken), so the repository itself is the list; no
 * file of stackctl's can disagree with it. Pure: snapshot-run.ts reads the repository and runs pgBackRest.
 */
import {UsageError} from '../../errors.js'
import {plainCommand, type CommandFor} from '../../model/config/command-line.js'
import {currentCluster, type RepoBackup, type RepoInfo} from './pgbackrest.js'
import type {SnapshotTarget} from './recovery.js'
import {textTable} from '../../cli/ui/table.js'

export const NAME_KEY = 'stackctl-name'
export const VISITS_KEY = 'stackctl-visits'

// The first a letter or digit: a name must not read as an option (`--force`) where it is passed on.
const SNAPSHOT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/

/** A name as the user gave it: letters, digits, `_ . -`, at most 63 (a shell word, a restore point's name). */
export function validateSnapshotName(name: string): string {
  if (!SNAPSHOT_NAME.test(name)) {
    throw new UsageError(
      `invalid snapshot name '${name}': letters, digits, '_', '.' and '-' (first a letter or digit), at most 63`,
      'e.g. before-migration or demo-2026-12-06',
    )
  }
  return name
}

/** `<project>-<UTC time>`: 20261206T093000Z, sortable and valid as a name. */
export function defaultSnapshotName(project: string, at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replaceAll(/[-:]/g, '')
  return `${project.slice(0, 63 - stamp.length - 1)}-${stamp}`
}

/** The visits a snapshot recorded: one number, or the range counted before and after its backup. */
export interface VisitRange {
  min: number
  max: number
}

export function formatVisits(visits: VisitRange): string {
  return visits.min === visits.max ? String(visits.min) : `${visits.min}-${visits.max}`
}

export function parseVisits(text: string | undefined): VisitRange | undefined {
  const match = /^(\d+)(?:-(\d+))?$/.exec(text ?? '')
  if (!match) return undefined
  const min = Number(match[1])
  const max = match[2] === undefined ? min : Number(match[2])
  return max >= min ? {min, max} : undefined
}

export interface Snapshot {
  name: string
  label: string
  type: RepoBackup['type']
  /** When the backup became consistent (its stop time), and where (its stop LSN). */
  at: string
  lsn: string
  sizeBytes: number
  visits: VisitRange | null
  pgMajor: number | null
  /** Its WAL (archive start to stop) is in the repository, so it can be restored. */
  restorable: boolean
}

/** The stackctl snapshots in a repository, oldest first; backups without stackctl's name annotation are not. */
export function snapshotsOf(info: RepoInfo): Snapshot[] {
  // An earlier cluster's backup (the major before a db upgrade) is listed with its major, not restorable here.
  const current = new Set(currentCluster(info).backups)
  return info.backups.flatMap((backup) => {
    const name = backup.annotation?.[NAME_KEY]
    if (name === undefined) return []
    return [
      {
        name,
        label: backup.label,
        type: backup.type,
        at: new Date(backup.stop * 1000).toISOString(),
        lsn: backup.lsnStop,
        sizeBytes: backup.repoSize,
        visits: parseVisits(backup.annotation?.[VISITS_KEY]) ?? null,
        pgMajor: backup.pgVersion ? Number.parseInt(backup.pgVersion, 10) : null,
        restorable: current.has(backup) && walPresent(backup, info),
      },
    ]
  })
}

/**
 * The backup's WAL inside the archived range. Segment names sort by timeline, then position, as the archive
 * grows: a backup on timeline 1 stays inside a range that now ends on timeline 2 (after a restore).
 */
function walPresent(backup: RepoBackup, info: RepoInfo): boolean {
  // Its own archive id's range: after a rollback the same cluster's backups from before the upgrade have
  // their WAL under the first archive id, not the one archiving now.
  const range = backup.walRange ?? info.archive
  if (!range || !backup.archiveStart || !backup.archiveStop) return false
  return range.min <= backup.archiveStart && backup.archiveStop <= range.max
}

/** The snapshot `restore NAME | --latest` means, or the reason there is none. */
export function pickSnapshot(
  snapshots: readonly Snapshot[],
  wanted: {name?: string; latest?: boolean},
  command: CommandFor = plainCommand,
): Snapshot {
  if (Boolean(wanted.name) === Boolean(wanted.latest)) {
    throw new UsageError(
      'give a snapshot NAME or --latest, not both and not neither',
      `${command('snapshot list')} shows the names`,
    )
  }
  const found = wanted.latest ? snapshots.at(-1) : snapshots.find((s) => s.name === wanted.name)
  if (!found) {
    throw new UsageError(
      wanted.latest ? 'the WAL archive holds no snapshot' : `no snapshot named '${wanted.name}'`,
      wanted.latest ? `${command('snapshot create')} takes one` : `${command('snapshot list')} shows the names`,
    )
  }
  return found
}

export function snapshotTarget(snapshot: Snapshot): SnapshotTarget {
  return {
    kind: 'snapshot',
    name: snapshot.name,
    label: snapshot.label,
    consistentLsn: snapshot.lsn,
    ...(snapshot.visits ? {visits: snapshot.visits} : {}),
  }
}

/**
 * Why `snapshot delete` must not expire this backup, or undefined. pgBackRest keeps at least one full backup
 * (the archived WAL needs a base to be restored onto) and refuses to expire the last one; said here first.
 */
export function deleteRefusal(snapshot: Snapshot, info: RepoInfo): string | undefined {
  const fulls = currentCluster(info).backups.filter((b) => b.type === 'full')
  if (snapshot.type === 'full' && fulls.length === 1 && fulls[0].label === snapshot.label) {
    return `snapshot '${snapshot.name}' is the repository's only full backup: the archived WAL needs it as its base, so it is kept`
  }
  return undefined
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB']

export function humanSize(bytes: number): string {
  let value = bytes
  let unit = 0
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000
    unit++
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`
}

/** `snapshot list` as a table: one row per snapshot, oldest first. */
export function snapshotTable(snapshots: readonly Snapshot[]): string[] {
  const header = ['NAME', 'TAKEN (UTC)', 'SIZE', 'VISITS', 'PG', 'TYPE', 'RESTORABLE']
  const rows = snapshots.map((s) => [
    s.name,
    s.at.replace('T', ' ').replace(/\.\d{3}Z$/, ''),
    humanSize(s.sizeBytes),
    s.visits ? formatVisits(s.visits) : '?',
    s.pgMajor === null ? '?' : String(s.pgMajor),
    s.type,
    s.restorable ? 'yes' : 'no: its WAL is not in the archive',
  ])
  return textTable(header, rows)
}
