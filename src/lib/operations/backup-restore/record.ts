/**
 * The record kept next to a backup (FILE.json): where the dump came from and what it holds. Pure: building,
 * reading and judging records, no I/O.
 *
 * Format 2 adds the project's schema version and counts the visits in the dump's own snapshot, so a
 * restored copy must hold exactly that many. Format 1 records (older stackctl) are still read: their count
 * was taken just before the dump and may be a few visits off, so it is shown but not enforced.
 */
export const RECORD_FORMAT = 'stackctl-backup/2'
const READABLE_FORMATS = ['stackctl-backup/1', RECORD_FORMAT] as const

export interface BackupRecord {
  format: (typeof READABLE_FORMATS)[number]
  project: string
  volume: string
  database: string
  pgMajor: number
  pgVersion: string
  /** The visit-tracker schema the database had (1: visits + visit_counter); null when unknown or not it. */
  schemaVersion: number | null
  /** Rows in `visits` in the dump's snapshot (format 2), or counted just before it (format 1). */
  visits: number | null
  createdAt: string
  bytes: number
  sha256: string
}

export type RecordReading = {record: BackupRecord} | {problem: string}

/** Reads a sidecar record; anything that is not a complete record of a known format says why. */
export function readBackupRecord(text: string): RecordReading {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return {problem: 'it is not valid JSON'}
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {problem: 'it is not a record'}
  const record = value as Record<string, unknown>
  if (!READABLE_FORMATS.includes(record.format as BackupRecord['format'])) {
    return {
      problem:
        typeof record.format === 'string' && record.format.startsWith('stackctl-backup/')
          ? `its format ${record.format} is newer than this stackctl reads`
          : 'it is not a stackctl backup record',
    }
  }
  const isCount = (v: unknown) => v === null || (typeof v === 'number' && Number.isInteger(v) && v >= 0)
  const fields: Array<[string, boolean]> = [
    ['project', typeof record.project === 'string'],
    ['pgMajor', typeof record.pgMajor === 'number' && Number.isFinite(record.pgMajor)],
    ['visits', isCount(record.visits)],
    ['createdAt', typeof record.createdAt === 'string' && !Number.isNaN(Date.parse(record.createdAt))],
    ['bytes', typeof record.bytes === 'number' && Number.isInteger(record.bytes) && record.bytes >= 0],
    ['sha256', typeof record.sha256 === 'string' && /^[0-9a-f]{64}$/.test(record.sha256)],
    ['schemaVersion', record.format === RECORD_FORMAT ? isCount(record.schemaVersion) : true],
  ]
  const bad = fields.filter(([, ok]) => !ok).map(([name]) => name)
  if (bad.length > 0) return {problem: `it has no valid ${bad.join(', ')}`}
  return {
    record: {
      format: record.format as BackupRecord['format'],
      project: record.project as string,
      volume: typeof record.volume === 'string' ? record.volume : '',
      database: typeof record.database === 'string' ? record.database : '',
      pgMajor: record.pgMajor as number,
      pgVersion: typeof record.pgVersion === 'string' ? record.pgVersion : '',
      schemaVersion: record.format === RECORD_FORMAT ? (record.schemaVersion as number | null) : null,
      visits: record.visits as number | null,
      createdAt: record.createdAt as string,
      bytes: record.bytes as number,
      sha256: record.sha256 as string,
    },
  }
}

/** Whether the record's visit count was taken in the dump's own snapshot, and so must match exactly. */
export function countIsExact(record: BackupRecord): boolean {
  return record.format === RECORD_FORMAT && record.visits !== null
}
