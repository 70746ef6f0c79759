/**
 * Pure helpers of the volume commands: dump headers, backup records, names of backup files and temporary
 * databases, sizes. No I/O here.
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

/** `Dumped from database version: 17.5 (Debian 17.5-1)` in `pg_restore --list` output → 17. */
export function parseDumpedFromVersion(listing: string): number | undefined {
  const match = /Dumped from database version:\s*(\d+)(?:\.(\d+))?/.exec(listing)
  if (!match) return undefined
  const major = Number(match[1])
  return major >= 10 ? major : Number(`${match[1]}.${match[2] ?? 0}`)
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
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name) || !isStepDatabaseName(database, name)) {
    throw new Error(`invalid database name ${name}`)
  }
  return name
}

/**
 * True for exactly the names stepDatabaseName makes for `database`: what a restore that was killed may leave
 * behind, and the only databases stackctl ever drops by name pattern.
 */
export function isStepDatabaseName(database: string, name: string): boolean {
  const prefix = `${database}_`
  if (!name.startsWith(prefix)) return false
  return /^(restore|old)_\d{8}t\d{6}z_[0-9a-f]{4}$/.test(name.slice(prefix.length))
}

/** The application_name of a restore's swap session: while it runs, a closed `visits` is no leftover. */
export const SWAP_APPLICATION = 'stackctl-restore-swap'
