/**
 * The persistence check's own settings, validated before anything runs so a bad value is one clear line and
 * exit 2 — never a half-started check.
 */
import {UsageError} from '../../errors.js'

export const TEARDOWN_MODES = ['down', 'recreate', 'kill'] as const
export type TeardownMode = (typeof TEARDOWN_MODES)[number]

export const CHECK_DEFAULTS = {visits: 100, concurrency: 8, mode: 'down' as TeardownMode}
export const CHECK_LIMITS = {visits: 1_000_000, concurrency: 256}

export interface CheckSettings {
  visits: number
  concurrency: number
  mode: TeardownMode
}

export interface CheckSettingsInput {
  visits?: string
  concurrency?: string
  mode?: string
}

export function parseCheckSettings(input: CheckSettingsInput): CheckSettings {
  const mode = parseMode(input.mode ?? CHECK_DEFAULTS.mode)
  const visits = parseCount('visits', input.visits, CHECK_DEFAULTS.visits, CHECK_LIMITS.visits)
  if (mode === 'kill' && visits < 2) {
    throw new UsageError(
      '--mode kill needs --visits 2 or more: some visits must be acknowledged before the kill and others in flight',
      'try --mode kill --visits 200 --concurrency 16',
    )
  }
  return {
    visits,
    concurrency: parseCount('concurrency', input.concurrency, CHECK_DEFAULTS.concurrency, CHECK_LIMITS.concurrency),
    mode,
  }
}

function parseCount(name: string, value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback
  const trimmed = value.trim()
  const count = /^\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN
  if (!Number.isSafeInteger(count) || count < 1 || count > max) {
    throw new UsageError(
      `invalid --${name} '${value}': must be an integer from 1 to ${max}`,
      `try --${name} ${fallback}`,
    )
  }
  return count
}

function parseMode(value: string): TeardownMode {
  if (!(TEARDOWN_MODES as readonly string[]).includes(value)) {
    throw new UsageError(`unknown --mode '${value}'`, `use one of: ${TEARDOWN_MODES.join(', ')}`)
  }
  return value as TeardownMode
}
