/**
 * The decisions of `db upgrade` that need no engine: which majors may be upgraded to, what the new cluster is
 * initialised with, how much room the copy needs, the names and labels of what it creates, and the copy's
 * script. Pure and unit-tested.
 */
import path from 'node:path'

import {
  DB_NAME,
  DB_USER,
  secretMountPath,
  DB_SECRET,
  upgradedVolumeName,
  VOLUME_KEY,
} from '../../model/config/stack-config.js'
import {LABELS} from '../../model/config/labels.js'
import {UsageError} from '../../errors.js'

export const METHODS = ['dump', 'pg_upgrade'] as const
export type Method = (typeof METHODS)[number]

/** The steps of an upgrade, in order: a failure names the one it happened in. */
export const STEPS = [
  'pre-flight',
  'new volume',
  'backup',
  'ledger',
  'new server',
  'copy',
  'verify',
  'switch',
  'API check',
] as const
export type Step = (typeof STEPS)[number]

/** Refuses a target that is not a newer major than the one the server runs. */
export function assertTarget(current: number, target: number, available: readonly number[]): void {
  if (target === current) {
    throw new UsageError(
      `the stack already runs PostgreSQL ${current}: nothing to upgrade`,
      `pass a newer major with --to (${available.filter((m) => m > current).join(', ') || 'none available'})`,
    )
  }
  if (target < current) {
    throw new UsageError(
      `--to ${target} is older than the PostgreSQL ${current} the stack runs: PostgreSQL data cannot be downgraded`,
      'to go back after an upgrade, use stackctl db rollback',
    )
  }
  if (!available.includes(target)) {
    throw new UsageError(
      `there is no PostgreSQL ${target} image for this stack (local images exist for ${available.join(', ')})`,
      `pass --to ${available.filter((m) => m > current).join(' or --to ') || current} or use --image-source registry`,
    )
  }
}

/** How the running cluster was initialised: the new one is initialised to match. */
export interface ClusterSettings {
  encoding: string
  collate: string
  ctype: string
  /** 'c' (libc), 'i' (ICU) or 'b' (builtin, 17+); 'c' before PostgreSQL 15 made it a choice. */
  localeProvider: string
  dataChecksums: boolean
}

export const CLUSTER_SETTINGS_SQL =
  "SELECT pg_encoding_to_char(encoding) || '|' || datcollate || '|' || datctype || '|' || " +
  "current_setting('data_checksums') FROM pg_database WHERE datname = current_database()"

export const LOCALE_PROVIDER_SQL = 'SELECT datlocprovider FROM pg_database WHERE datname = current_database()'

export function parseClusterSettings(output: string, localeProvider = 'c'): ClusterSettings {
  const [encoding, collate, ctype, checksums] = output.trim().split('|')
  if (!encoding || !collate || !ctype || (checksums !== 'on' && checksums !== 'off')) {
    throw new UsageError(`unexpected cluster settings from the database: '${output.trim()}'`)
  }
  return {encoding, collate, ctype, localeProvider, dataChecksums: checksums === 'on'}
}

/** initdb's arguments for a cluster like `settings`, then the user's own (--initdb-args). */
export function initdbArgs(settings: ClusterSettings, targetMajor: number, extra: readonly string[] = []): string[] {
  if (settings.localeProvider !== 'c') {
    throw new UsageError(
      `the database uses the ${settings.localeProvider === 'i' ? 'ICU' : 'builtin'} locale provider, which db upgrade does not reproduce yet`,
      'upgrade by hand: stackctl volume backup, then restore into a stack of the new major',
    )
  }
  const args = [`--encoding=${settings.encoding}`, `--lc-collate=${settings.collate}`, `--lc-ctype=${settings.ctype}`]
  if (settings.dataChecksums) args.push('--data-checksums')
  // PostgreSQL 18's initdb enables checksums unless told otherwise.
  else if (targetMajor >= 18) args.push('--no-data-checksums')
  return [...args, ...extra]
}

/**
 * Differences between the settings the new cluster should have (the old one's, unless the user's initdb
 * options changed them on purpose) and the ones it has; empty when they match.
 */
export function settingsDifferences(
  before: ClusterSettings,
  after: ClusterSettings,
  extra: readonly string[] = [],
): string[] {
  const chosen = (...names: string[]) =>
    extra.some((arg) => names.some((name) => arg === name || arg.startsWith(`${name}=`)))
  const expected: ClusterSettings = {
    ...before,
    dataChecksums: chosen('--data-checksums', '-k')
      ? true
      : chosen('--no-data-checksums')
        ? false
        : before.dataChecksums,
  }
  const keys = (['encoding', 'collate', 'ctype', 'localeProvider', 'dataChecksums'] as const).filter(
    (key) =>
      !(key === 'encoding' && chosen('--encoding', '-E')) &&
      !((key === 'collate' || key === 'ctype') && chosen('--locale', `--lc-${key}`)) &&
      !(key === 'localeProvider' && chosen('--locale-provider')),
  )
  return keys
    .filter((key) => expected[key] !== after[key])
    .map((key) => `${key} is ${String(after[key])} instead of ${String(expected[key])}`)
}

/** Extensions the old database uses that the new server cannot install. */
export function missingExtensions(used: readonly string[], available: readonly string[]): string[] {
  return used.filter((name) => !available.includes(name))
}

export const EXTENSIONS_SQL = "SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1"
export const AVAILABLE_EXTENSIONS_SQL = 'SELECT name FROM pg_available_extensions ORDER BY 1'

/** Room for the copy: the old data's size and WAL segments written while it is restored. */
export const COPY_HEADROOM_BYTES = 128 * 1024 * 1024

export function requiredBytes(oldVolumeBytes: number): number {
  return Math.max(0, oldVolumeBytes) + COPY_HEADROOM_BYTES
}

/** `df --output=avail -B1 PATH` → bytes. */
export function parseAvailable(output: string): number | undefined {
  const value = output
    .trim()
    .split('\n')
    .map((line) => line.trim())
    .find((line) => /^\d+$/.test(line))
  return value === undefined ? undefined : Number(value)
}

/** The first name of the new volume that is not taken: `<project>_postgres_data_pg17`, then `_pg17_2`, … */
export function newVolumeName(project: string, major: number, taken: (name: string) => boolean): string {
  const base = upgradedVolumeName(project, major)
  if (!taken(base)) return base
  for (let n = 2; ; n++) if (!taken(`${base}_${n}`)) return `${base}_${n}`
}

/**
 * The new volume's labels. A volume's labels never change after its creation, so the old volume cannot be
 * marked as superseded; the new one says what it supersedes, and stack.json records both sides. Compose's
 * own labels make `docker compose` treat it as the project's volume.
 */
export function newVolumeLabels(input: {
  stackId: string
  project: string
  supersedes: string
  pgMajor: number
  at: Date
}): Record<string, string> {
  return {
    [LABELS.stackId]: input.stackId,
    [LABELS.project]: input.project,
    'io.stackctl.supersedes': input.supersedes,
    'io.stackctl.pg-major': String(input.pgMajor),
    'io.stackctl.created-at': input.at.toISOString(),
    'com.docker.compose.project': input.project,
    'com.docker.compose.volume': VOLUME_KEY,
  }
}

export const UPGRADE_ROLE_LABEL = 'io.stackctl.role'

export function upgradeContainerName(project: string, major: number): string {
  return `${project}-upgrade-pg${major}`
}

/**
 * Runs in the new server's container: the new major's pg_dumpall (roles) and pg_dump read the old server over
 * the stack's network, and psql restores into the new one over its socket — the restore of the database in
 * one transaction, so a failure leaves nothing half-restored. The password is read from the mounted secret
 * file inside the container; it is on no command line and in no output.
 */
export function copyScript(oldHost: string): string[] {
  const secret = secretMountPath(DB_SECRET.name)
  const local = `-X -q -v ON_ERROR_STOP=1 -h /var/run/postgresql -U ${DB_USER}`
  const remote = `-h ${oldHost} -U ${DB_USER} --no-password`
  const script = [
    'set -euo pipefail',
    `PGPASSWORD="$(cat ${secret})"; export PGPASSWORD`,
    `pg_dumpall ${remote} --roles-only | grep -v -x -F 'CREATE ROLE ${DB_USER};' | psql ${local} -d postgres >/dev/null`,
    `pg_dump ${remote} -d ${DB_NAME} | psql ${local} --single-transaction -d ${DB_NAME} >/dev/null`,
  ].join('\n')
  return ['bash', '-c', script]
}

/** The environment of the new server's container: the official image's contract, the password as a file. */
export function newServerEnv(initdb: readonly string[]): string[] {
  return [
    `POSTGRES_USER=${DB_USER}`,
    `POSTGRES_DB=${DB_NAME}`,
    `POSTGRES_PASSWORD_FILE=${secretMountPath(DB_SECRET.name)}`,
    `POSTGRES_INITDB_ARGS=${initdb.join(' ')}`,
  ]
}

/** Splits --initdb-args on whitespace, refusing what the entrypoint could not pass on as separate arguments. */
export function parseInitdbArgs(text: string | undefined): string[] {
  if (text === undefined || text.trim() === '') return []
  const args = text.trim().split(/\s+/)
  const bad = args.find((arg) => !/^--?[A-Za-z0-9][A-Za-z0-9=_.,:/-]*$/.test(arg))
  if (bad !== undefined) {
    throw new UsageError(
      `invalid --initdb-args value '${bad}'`,
      "pass initdb options, e.g. --initdb-args='--data-checksums'",
    )
  }
  return args
}

/** Visits written since the switch: what a rollback would leave behind on the newer volume. */
export function visitsSince(atSwitch: number, now: number): number {
  return Math.max(0, now - atSwitch)
}

/** The old volume as the engine describes it: the new one's options are derived from it. */
export interface VolumeDriver {
  name: string
  driver: string
  options: Record<string, string>
}

/**
 * The new volume's driver and options: the user's --volume-opt, else the old volume's. Refuses options that
 * would make the new volume the old one's storage (the same `device`: a bind mount of the same directory, the
 * same NFS export), and a volume in memory unless `force` (then it warns): its data does not survive a restart.
 */
export function newVolumeDriver(
  old: VolumeDriver,
  requested: Record<string, string> | undefined,
  force = false,
  command = 'db upgrade',
): {driver: string; options: Record<string, string>; warning?: string} {
  const options = requested ?? old.options
  const driver = requested ? 'local' : old.driver
  const from = requested ? '--volume-opt' : `the options of ${old.name}, which the new volume would get,`
  if (inMemory(options)) {
    const what = `${from} put${requested ? '' : 's'} the new volume in memory (tmpfs): the upgraded data would not survive a restart of the engine or the machine`
    if (!force) {
      throw new UsageError(
        what,
        'pass --volume-opt options of a volume on disk (or none, for a plain named volume), or --force to accept data that a restart loses',
      )
    }
    return {driver, options, warning: `${what} (accepted with --force)`}
  }
  const device = old.options.device
  if (device !== undefined && !inMemory(old.options) && sameDevice(device, options.device)) {
    const other = `${device.replace(/\/+$/, '')}-${command === 'db upgrade' ? 'upgraded' : 'restored'}`
    const example = Object.entries({...old.options, device: other})
      .map(([key, value]) => `--volume-opt ${shellQuote(`${key}=${value}`)}`)
      .join(' ')
    throw new UsageError(
      `the new volume would be the storage of ${old.name} itself: both would mount ${device} (${requested ? 'the same device in --volume-opt' : `${command} gives the new volume the old one’s options`})`,
      `give the new volume another, empty directory: mkdir ${shellQuote(other)}, then add ${example} to this command`,
    )
  }
  return {driver, options}
}

export function inMemory(options: Record<string, string>): boolean {
  return (
    options.type === 'tmpfs' ||
    options.device === 'tmpfs' ||
    (options.o ?? '').split(',').some((part) => part.trim() === 'tmpfs')
  )
}

function sameDevice(a: string, b: string | undefined): boolean {
  if (b === undefined) return false
  const normal = (device: string) => (device.startsWith('/') ? path.posix.normalize(`${device}/`) : device)
  return normal(a) === normal(b)
}

/** --volume-opt KEY=VALUE (repeatable) → the new volume's driver options; undefined when none was given. */
export function parseVolumeOptions(values: readonly string[] | undefined): Record<string, string> | undefined {
  if (!values || values.length === 0) return undefined
  const options: Record<string, string> = {}
  for (const value of values) {
    const match = /^([A-Za-z0-9_.-]+)=(.*)$/.exec(value)
    if (!match)
      throw new UsageError(
        `invalid --volume-opt '${value}': expected KEY=VALUE`,
        'e.g. --volume-opt type=none --volume-opt o=bind --volume-opt device=/srv/pgdata17',
      )
    options[match[1]] = match[2]
  }
  return options
}

/** A word for a POSIX shell: bare when safe, single-quoted otherwise. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`
}
