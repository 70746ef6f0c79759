/**
 * Pure helpers of the volume commands: reading the engine's disk-usage answer, PostgreSQL version markers and
 * dump headers, naming backup files and temporary databases, formatting sizes. No I/O here.
 */
import path from 'node:path'

/** Bytes as a short human-readable size (binary units); negative means the engine did not know. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return 'unknown'
  if (bytes < 1024) return `${bytes} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`
}

interface DfVolume {
  Name?: string
  UsageData?: {Size?: number} | null
}

/**
 * The size of one volume from GET /system/df. Engines before API 1.52 answer `Volumes: [...]`; newer ones
 * answer `VolumesDiskUsage: {Items: [...]}` (Items only in verbose mode). -1 when the engine does not know,
 * undefined when the volume is not listed at all.
 */
export function volumeSizeFromDf(df: unknown, name: string): number | undefined {
  const volumes = dfVolumes(df)
  const entry = volumes?.find((v) => v.Name === name)
  if (!entry) return undefined
  const size = entry.UsageData?.Size
  return typeof size === 'number' && Number.isFinite(size) && size >= 0 ? size : -1
}

/** True for a newer engine's summary-only answer, which needs the verbose query to list volumes. */
export function dfIsSummaryOnly(df: unknown): boolean {
  const record = asRecord(df)
  return record !== undefined && !Array.isArray(record.Volumes) && dfVolumes(df) === undefined
}

function dfVolumes(df: unknown): DfVolume[] | undefined {
  const record = asRecord(df)
  if (!record) return undefined
  if (Array.isArray(record.Volumes)) return record.Volumes as DfVolume[]
  const items = asRecord(record.VolumesDiskUsage)?.Items
  return Array.isArray(items) ? (items as DfVolume[]) : undefined
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined
}

/**
 * The content of a PG_VERSION file as a major version: `17` → 17. Before PostgreSQL 10 the major had two
 * parts (`9.6`), kept as a decimal so it still compares as a number.
 */
export function parsePgVersionFile(text: string): number | undefined {
  const match = /^\s*(\d+)(?:\.(\d+))?\s*$/.exec(text)
  if (!match) return undefined
  const major = Number(match[1])
  if (major >= 10) return match[2] === undefined ? major : undefined
  return match[2] === undefined ? undefined : Number(`${match[1]}.${match[2]}`)
}

/** Where the data directory sits inside the volume: at its root up to 17, in `<major>/docker` from 18 on. */
export function dataDirInVolume(major: number): string {
  return major >= 18 ? `${major}/docker` : ''
}

/** The PG_VERSION paths worth looking at inside a volume mounted at `root`. */
export function pgVersionCandidates(root: string, configuredMajor: number): string[] {
  const majors = [...new Set([18, configuredMajor].filter((m) => m >= 18))]
  return [path.posix.join(root, 'PG_VERSION'), ...majors.map((m) => path.posix.join(root, `${m}/docker/PG_VERSION`))]
}

export interface PgVersionFound {
  major: number
  /** The data directory relative to the volume's root ('' = the root itself). */
  dataDir: string
}

/**
 * Parses `grep -H '' FILES...` output (`<path>:<content>` per line) from a volume mounted at `root`.
 * The root-level marker wins: it is where PostgreSQL up to 17 keeps its data.
 */
export function parsePgVersionListing(output: string, root: string): PgVersionFound | undefined {
  const found: PgVersionFound[] = []
  for (const line of output.split('\n')) {
    const colon = line.indexOf(':')
    if (colon < 0) continue
    const file = line.slice(0, colon)
    const major = parsePgVersionFile(line.slice(colon + 1))
    if (major === undefined || path.posix.basename(file) !== 'PG_VERSION') continue
    const dataDir = path.posix.relative(root, path.posix.dirname(file))
    found.push({major, dataDir})
  }
  return found.find((f) => f.dataDir === '') ?? found[0]
}

/** A volume fits the configured major when the version matches and the data sits where that image looks. */
export function isCompatible(found: PgVersionFound | undefined, configuredMajor: number): boolean {
  if (!found) return true // empty: the configured server initialises it on first start
  return found.major === configuredMajor && found.dataDir === dataDirInVolume(configuredMajor)
}

/** `Dumped from database version: 17.5 (Debian 17.5-1)` in `pg_restore --list` output → 17. */
export function parseDumpedFromVersion(listing: string): number | undefined {
  const match = /Dumped from database version:\s*(\d+)(?:\.(\d+))?/.exec(listing)
  if (!match) return undefined
  const major = Number(match[1])
  return major >= 10 ? major : Number(`${match[1]}.${match[2] ?? 0}`)
}

/** `server_version_num` (e.g. 170005, 90624) → the major version (17, 9.6). */
export function majorFromVersionNum(text: string): number | undefined {
  const num = Number(text.trim())
  if (!Number.isInteger(num) || num <= 0) return undefined
  return num >= 100_000
    ? Math.floor(num / 10_000)
    : Number(`${Math.floor(num / 10_000)}.${Math.floor(num / 100) % 100}`)
}

/** A compact UTC timestamp for names: 2025-01-02T03:04:05.678Z → 20250102T030405Z. */
export function utcStamp(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '')
}

export function defaultBackupFile(stackDir: string, project: string, pgMajor: number, date: Date): string {
  return path.join(stackDir, 'backups', `${project}-pg${pgMajor}-${utcStamp(date)}.dump`)
}

/** The record kept next to a backup: FILE → FILE.json. */
export function sidecarPath(file: string): string {
  return `${file}.json`
}

/** A database name for one step of a restore, e.g. `visits_restore_20250102t030405z_1a2b`. */
export function stepDatabaseName(database: string, step: 'restore' | 'old', date: Date, suffix: string): string {
  const name = `${database}_${step}_${utcStamp(date).toLowerCase()}_${suffix}`
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`invalid database name ${name}`)
  return name
}

export interface BackupRecord {
  format: 'stackctl-backup/1'
  project: string
  volume: string
  database: string
  pgMajor: number
  pgVersion: string
  visits: number | null
  createdAt: string
  bytes: number
  sha256: string
}

/** Reads a sidecar record; anything that does not look like one is undefined rather than trusted. */
export function parseBackupRecord(text: string): BackupRecord | undefined {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  const record = asRecord(value)
  if (!record || record.format !== 'stackctl-backup/1') return undefined
  const valid =
    typeof record.pgMajor === 'number' &&
    typeof record.bytes === 'number' &&
    typeof record.sha256 === 'string' &&
    (record.visits === null || typeof record.visits === 'number')
  return valid ? (record as unknown as BackupRecord) : undefined
}
