/**
 * The typed stack configuration: flags win over environment variables, which win over what the stack
 * directory remembers from the last render, which wins over defaults. Everything is validated here, before
 * anything runs, so a bad value is one clear line and exit 2.
 */
import {resolveBackupSchedule, type BackupSchedule} from '../backup-schedule.js'
import {isIP} from 'node:net'
import path from 'node:path'

import {UsageError} from '../../errors.js'

export const IMAGE_SOURCES = ['registry', 'local', 'auto'] as const
export type ImageSource = (typeof IMAGE_SOURCES)[number]

export interface StackConfig {
  /** Compose project name; the data volume is `<project>_postgres_data`. */
  project: string
  /** Absolute path of the stack directory that holds the rendered files and the secret. */
  dir: string
  host: string
  port: number
  /** Host port PostgreSQL is published on, on loopback only (DB_PUBLISH_HOST); undefined: not published. */
  dbPort: number | undefined
  pgMajor: number
  imageSource: ImageSource
  /** Seconds `up` waits for both services to become healthy. */
  timeoutSeconds: number
  /**
   * The data volume the stack runs on: `<project>_postgres_data`, or the one `db upgrade` (or `db rollback`)
   * switched to, remembered in stack.json.
   */
  volume: string
  /**
   * Archive every WAL segment with pgBackRest into `<project>_backups` (model/protection.ts): on for a new
   * stack unless `--no-wal-archive`, off for one made before it was the default (until `up --wal-archive`),
   * remembered in stack.json. Wanted, not granted: the registry images and the swarm and kubernetes targets
   * do not archive (operations/protect/choice.ts).
   */
  walArchive: boolean
  /**
   * Scheduled pgBackRest backups of an archiving stack (model/backup-schedule.ts): `--backup-every` and
   * `--full-backup-every`, remembered; undefined with `--backup-every off`.
   */
  backupSchedule: BackupSchedule | undefined
}

export interface StackConfigInput {
  project?: string
  dir?: string
  host?: string
  port?: number | string
  /** A port, or 'none' (not published); stack.json holds only a port. */
  dbPort?: number | string
  pgMajor?: number | string
  imageSource?: string
  timeoutSeconds?: number | string
  /** Remembered only (no flag): the active data volume when it is not the default one. */
  volume?: string
  walArchive?: boolean
  /** A duration (`24h`) or `off`; remembered as given. */
  backupEvery?: string
  fullBackupEvery?: string
}

export const DEFAULTS = {
  project: 'stackctl',
  dir: '.stackctl',
  host: '127.0.0.1',
  port: 5000,
  dbPort: 'none',
  pgMajor: 17,
  imageSource: 'auto' as ImageSource,
  timeoutSeconds: 120,
}

export const ENV = {
  project: 'STACKCTL_PROJECT',
  dir: 'STACKCTL_DIR',
  host: 'STACKCTL_HOST',
  port: 'STACKCTL_PORT',
  dbPort: 'STACKCTL_DB_PORT',
  pgMajor: 'STACKCTL_PG_MAJOR',
  imageSource: 'STACKCTL_IMAGE_SOURCE',
  timeoutSeconds: 'STACKCTL_TIMEOUT',
} as const

export const DB_USER = 'postgres'
/**
 * The operating-system user that owns the db's data, archive and processes in both db images (stackctl/postgres,
 * stackctl/patroni). stackctl runs a process as it by asking the engine (ExecOptions.user, a container's user):
 * the engine switches user before the process starts, so no wrapper (setpriv, su) and no capability is needed.
 */
export const DB_OS_USER = 'postgres'
export const DB_NAME = 'visits'
export const VOLUME_KEY = 'postgres_data'
export const APP_CONTAINER_PORT = 5000
export const DB_CONTAINER_PORT = 5432
/**
 * Where --db-port publishes PostgreSQL: this machine only, whatever --host says. --host opens the API to other
 * machines; the database's password is the stack's whole protection, so it stays off the network unless an
 * override file publishes it (and then up, status and doctor warn, see targets/compose/exposure.ts).
 */
export const DB_PUBLISH_HOST = '127.0.0.1'
/** The --db-port value that stops publishing the database. */
export const DB_PORT_NONE = 'none'
/** The database password: a Compose secret of this name, from this file of the stack directory. */
export const DB_SECRET = {name: 'db_password', file: 'secrets/db_password'} as const

/** Where a Compose (or Swarm) secret appears inside a container. */
export function secretMountPath(name: string): string {
  return `/run/secrets/${name}`
}

export function volumeName(project: string): string {
  return `${project}_${VOLUME_KEY}`
}

/** The volume of PostgreSQL `major`'s data that `db upgrade` makes next to the original one. */
export function upgradedVolumeName(project: string, major: number): string {
  return `${volumeName(project)}_pg${major}`
}

/** Only a volume of this project (the default or an upgraded one) can be the active one. */
export function activeVolume(project: string, remembered: string | undefined): string {
  const base = volumeName(project)
  if (remembered === undefined || remembered === base) return base
  if (remembered.startsWith(base) && /^_pg\d{2}(_\d+)?$/.test(remembered.slice(base.length))) return remembered
  throw new UsageError(
    `stack.json names the data volume '${remembered}', which is not a volume of project '${project}'`,
    `restore stack.json from a backup; stackctl only runs a stack on ${volumeName(project)} or ${volumeName(project)}_pg<major>`,
  )
}

/** A URL one can open: an API bound to every interface (0.0.0.0, ::) is reached on loopback. */
export function appUrl(config: Pick<StackConfig, 'host' | 'port'>): string {
  const reachable = config.host === '0.0.0.0' ? '127.0.0.1' : config.host === '::' ? '::1' : config.host
  const host = reachable.includes(':') ? `[${reachable}]` : reachable
  return `http://${host}:${config.port}`
}

/** The flag of each setting stackctl remembers in stack.json. */
const REMEMBERED_FLAGS = {
  host: '--host',
  port: '--port',
  dbPort: '--db-port',
  pgMajor: '--pg-major',
  imageSource: '--image-source',
} as const

/**
 * The settings taken from what the stack directory remembers (neither a flag nor the environment gave them)
 * that differ from the defaults: `up` says so, so a `--host 0.0.0.0` from last week is never a surprise.
 */
export function rememberedSettings(
  flags: StackConfigInput,
  env: NodeJS.ProcessEnv,
  remembered: StackConfigInput,
): Array<{flag: string; value: string}> {
  const found: Array<{flag: string; value: string}> = []
  for (const [key, flag] of Object.entries(REMEMBERED_FLAGS) as Array<[keyof typeof REMEMBERED_FLAGS, string]>) {
    const value = remembered[key]
    if (value === undefined || flags[key] !== undefined || nonEmpty(env[ENV[key]]) !== undefined) continue
    if (String(value) !== String(DEFAULTS[key])) found.push({flag, value: String(value)})
  }
  return found
}

/** Only the stack directory, resolved from a flag, the environment or the default. */
export function resolveStackDir(flag: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string {
  return path.resolve(cwd, flag || env[ENV.dir] || DEFAULTS.dir)
}

/**
 * Merges the layers and validates every value.
 * @param saved settings saved in the stack directory by the last render; undefined for a stack not made yet
 */
export function resolveStackConfig(
  flags: StackConfigInput,
  env: NodeJS.ProcessEnv,
  saved?: StackConfigInput,
  cwd = process.cwd(),
): StackConfig {
  const remembered = saved ?? {}
  const pick = <K extends keyof typeof ENV>(key: K) => flags[key] ?? nonEmpty(env[ENV[key]]) ?? remembered[key]
  const project = validateProjectName(String(pick('project') ?? DEFAULTS.project))
  const port = parsePort(pick('port') ?? DEFAULTS.port)
  return {
    project,
    dir: resolveStackDir(flags.dir, env, cwd),
    host: validateHost(String(pick('host') ?? DEFAULTS.host)),
    port,
    dbPort: parseDbPort(pick('dbPort') ?? DEFAULTS.dbPort, port),
    pgMajor: parsePgMajor(pick('pgMajor') ?? DEFAULTS.pgMajor),
    imageSource: parseImageSource(String(pick('imageSource') ?? DEFAULTS.imageSource)),
    timeoutSeconds: parseTimeout(pick('timeoutSeconds') ?? DEFAULTS.timeoutSeconds),
    volume: activeVolume(project, remembered.volume),
    // On by default for a new stack. A stack.json without the setting is a stack from before archiving was
    // the default: it keeps what it has (up says once how to opt in: its db is recreated to archive).
    walArchive: flags.walArchive ?? remembered.walArchive ?? saved === undefined,
    backupSchedule: resolveBackupSchedule(
      flags.backupEvery ?? remembered.backupEvery,
      // --backup-every off on its own drops the remembered full cadence: it is no contradiction the user typed.
      flags.fullBackupEvery ?? (flags.backupEvery === 'off' ? undefined : remembered.fullBackupEvery),
    ),
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}

const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/
/**
 * The longest name whose derived names all stay valid: the volume `<project>_postgres_data` and the network
 * `<project>_default` within 64 characters, container names and host names within their limits.
 */
export const MAX_PROJECT_NAME = 48

export function validateProjectName(name: string): string {
  if (name.length > MAX_PROJECT_NAME) {
    throw new UsageError(
      `invalid project name: ${name.length} characters, at most ${MAX_PROJECT_NAME} are allowed (the volume and network names derive from it)`,
      `try --project-name ${suggestProjectName(name)
        .slice(0, MAX_PROJECT_NAME)
        .replace(/[-_]+$/, '')}`,
    )
  }
  if (!PROJECT_NAME.test(name)) {
    throw new UsageError(
      `invalid project name '${name}': Compose allows lowercase letters, digits, '-' and '_', starting with a letter or digit`,
      `try --project-name ${suggestProjectName(name)}`,
    )
  }
  return name
}

function suggestProjectName(name: string): string {
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
  return cleaned || DEFAULTS.project
}

/** Whole decimal numbers only: Number() would also take '1e3', '0x50', ' 21001' or '' and mean something else. */
function strictInteger(value: number | string): number {
  if (typeof value === 'number') return Number.isInteger(value) ? value : Number.NaN
  return /^(0|[1-9]\d{0,9})$/.test(value) ? Number(value) : Number.NaN
}

export function parsePort(value: number | string): number {
  const port = strictInteger(value)
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`invalid port '${value}': must be an integer from 1 to 65535`, 'try --port 5000')
  }
  return port
}

/**
 * --db-port: a port, or 'none' to stop publishing. 0 is refused rather than read as "none": elsewhere it
 * means "any free port", and a URL must name a fixed one.
 */
export function parseDbPort(value: number | string, apiPort?: number): number | undefined {
  if (value === DB_PORT_NONE) return undefined
  const port = strictInteger(value)
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(
      `invalid database port '${value}': must be an integer from 1 to 65535, or ${DB_PORT_NONE}`,
      `try --db-port 5432, or --db-port ${DB_PORT_NONE} to stop publishing the database`,
    )
  }
  if (port === apiPort) {
    throw new UsageError(
      `--db-port ${port} is the API's port (--port ${apiPort}): the database needs a port of its own`,
      `try --db-port 5432, or --db-port ${DB_PORT_NONE}`,
    )
  }
  return port
}

function parsePgMajor(value: number | string): number {
  const major = strictInteger(value)
  if (!Number.isInteger(major) || major < 12 || major > 99) {
    throw new UsageError(`invalid PostgreSQL major version '${value}'`, 'try --pg-major 17')
  }
  return major
}

function parseImageSource(value: string): ImageSource {
  if (!(IMAGE_SOURCES as readonly string[]).includes(value)) {
    throw new UsageError(`unknown image source '${value}'`, `use one of: ${IMAGE_SOURCES.join(', ')}`)
  }
  return value as ImageSource
}

function parseTimeout(value: number | string): number {
  const seconds = typeof value === 'number' ? value : /^\d{1,4}(\.\d{1,3})?$/.test(value) ? Number(value) : Number.NaN
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) {
    throw new UsageError(`invalid timeout '${value}': must be a number of seconds from 1 to 3600`, 'try --timeout 120')
  }
  return seconds
}

export function validateHost(host: string): string {
  // An address to bind on, not a name: Compose publishes on an IP.
  const family = isIP(host)
  const usable =
    (family === 4 && host !== '255.255.255.255' && !isIpv4Multicast(host)) ||
    (family === 6 && !/^ff/i.test(host) && !host.includes('%'))
  if (!usable) {
    throw new UsageError(
      `invalid host address '${host}': must be an IPv4 or IPv6 address this machine can publish on`,
      'try --host 127.0.0.1 (this machine only) or --host 0.0.0.0 (every interface)',
    )
  }
  return host
}

function isIpv4Multicast(host: string): boolean {
  const first = Number(host.split('.')[0])
  return first >= 224 && first <= 239
}

/** Loopback addresses are reachable from this machine only; anything else may be reachable from others. */
export function isLoopback(host: string): boolean {
  return /^127\./.test(host) || host === '::1' || /^::ffff:127\./i.test(host)
}

/** Flag definitions' pgMajor → the PostgreSQL data path inside the container (the official image moved it in 18). */
export function pgDataMountPath(pgMajor: number): string {
  return pgMajor >= 18 ? '/var/lib/postgresql' : '/var/lib/postgresql/data'
}
