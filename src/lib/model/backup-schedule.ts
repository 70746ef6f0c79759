/**
 * Scheduled backups of a stack that archives its WAL (issue 25): a differential backup when the newest backup
 * is older than `every`, a full one when the newest full is older than `fullEvery`, the newest `keepFull`
 * scheduled fulls kept (and the diffs that need them). Without them a point-in-time restore replays every WAL
 * segment since the first backup `up` took, and the restore's time grows with the stack's age. Snapshots
 * (`snapshot create`) are never expired by the schedule: only `snapshot delete` removes one. Pure.
 */
import {UsageError} from '../errors.js'

export interface BackupSchedule {
  /** Seconds: a differential backup once the newest backup (of any type) is this old. */
  everySeconds: number
  /** Seconds: a full backup once the newest full is this old. */
  fullEverySeconds: number
}

export const BACKUP_SCHEDULE_DEFAULTS = {every: '24h', fullEvery: '7d'} as const
/** Scheduled full backups kept; an older one is expired (with its diffs) once a newer scheduled full exists. */
export const SCHEDULED_FULLS_KEPT = 2
/** The shortest cadence accepted: a backup every few seconds would spend the db's cores on copying itself. */
export const MIN_EVERY_SECONDS = 10

const UNITS: Record<string, number> = {s: 1, m: 60, h: 3600, d: 86_400}

/** `45s`, `30m`, `24h`, `7d` → seconds; undefined for anything else. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,6})([smhd])$/.exec(text.trim())
  return match ? Number(match[1]) * UNITS[match[2]] : undefined
}

/** Seconds in the largest unit that divides them: 86400 → `1d`, 5400 → `90m`, 45 → `45s`. */
export function formatDuration(seconds: number): string {
  for (const unit of ['d', 'h', 'm'] as const) {
    if (seconds % UNITS[unit] === 0) return `${seconds / UNITS[unit]}${unit}`
  }
  return `${seconds}s`
}

/**
 * The schedule from `--backup-every` / `--full-backup-every` (or what stack.json remembers); undefined when
 * `--backup-every off`. Bad values are refused in one line with a hint.
 */
export function resolveBackupSchedule(
  every: string | undefined,
  fullEvery: string | undefined,
): BackupSchedule | undefined {
  const everyText = every ?? BACKUP_SCHEDULE_DEFAULTS.every
  if (everyText === 'off') {
    if (fullEvery !== undefined && fullEvery !== BACKUP_SCHEDULE_DEFAULTS.fullEvery) {
      throw new UsageError(
        `--full-backup-every ${fullEvery} has no effect with --backup-every off`,
        'omit --full-backup-every, or give --backup-every a duration such as 24h',
      )
    }
    return undefined
  }
  const everySeconds = duration('--backup-every', everyText, true)
  const fullEverySeconds = duration('--full-backup-every', fullEvery ?? BACKUP_SCHEDULE_DEFAULTS.fullEvery, false)
  if (fullEverySeconds < everySeconds) {
    throw new UsageError(
      `--full-backup-every ${formatDuration(fullEverySeconds)} is shorter than --backup-every ${formatDuration(everySeconds)}`,
      `give full backups the longer cadence, e.g. --backup-every ${formatDuration(everySeconds)} --full-backup-every ${formatDuration(Math.max(everySeconds * 7, fullEverySeconds))}`,
    )
  }
  return {everySeconds, fullEverySeconds}
}

function duration(flag: string, text: string, offAllowed: boolean): number {
  const seconds = parseDuration(text)
  if (seconds === undefined) {
    throw new UsageError(
      `invalid ${flag} '${text}': expected a number and a unit (s, m, h or d)`,
      `e.g. ${flag} ${flag === '--backup-every' ? '24h' : '7d'}${offAllowed ? `, or ${flag} off` : ''}`,
    )
  }
  if (seconds < MIN_EVERY_SECONDS) {
    throw new UsageError(`${flag} ${text} is too short (at least ${MIN_EVERY_SECONDS}s)`, `e.g. ${flag} 1h`)
  }
  return seconds
}

export function describeSchedule(schedule: BackupSchedule): string {
  return `diff every ${formatDuration(schedule.everySeconds)}, full every ${formatDuration(schedule.fullEverySeconds)}, the newest ${SCHEDULED_FULLS_KEPT} scheduled fulls kept`
}
