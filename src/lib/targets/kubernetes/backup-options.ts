/**
 * The CloudNativePG backup flags of `render --target kubernetes`, validated before anything is read or written:
 * a bad value is one line saying what is wrong and one with a value that works (exit 2). Pure: no I/O here.
 * Without --backup-destination there is no backup section, and every other backup flag is refused.
 */
import {UsageError} from '../../errors.js'
import type {BackupProvider, KubernetesBackupSettings} from '../../model/stack-model.js'
import type {PostgresMode} from './options.js'

export const BACKUP_DEFAULTS = {retention: '30d', schedule: '0 0 3 * * *'}

export interface BackupFlags {
  'backup-destination'?: string
  'backup-endpoint'?: string
  'backup-credentials-secret'?: string
  'backup-retention'?: string
  'backup-schedule'?: string
}

/** What the flags ask for; the object names are the renderer's (names.ts). */
export type BackupOptions = Omit<KubernetesBackupSettings, 'objectStore' | 'scheduledBackup' | 'credentialsSecret'> & {
  /** Undefined: <cluster>-backup-credentials. */
  credentialsSecret?: string
}

const DESTINATION_HINT =
  'try --backup-destination s3://visits-backups/demo with your bucket and path (or gs://visits-backups/demo, or https://ACCOUNT.blob.core.windows.net/visits/demo for Azure)'

export function parseBackupOptions(flags: BackupFlags, postgres: PostgresMode): BackupOptions | undefined {
  const given = (Object.keys(flags) as (keyof BackupFlags)[]).filter((name) => flags[name] !== undefined)
  if (given.length === 0) return undefined
  if (postgres !== 'cloudnative-pg') {
    throw new UsageError(
      `--${given[0]} applies to --postgres cloudnative-pg: the StatefulSet has no backup section`,
      'add --postgres cloudnative-pg (CloudNativePG archives the WAL and takes the backups)',
    )
  }
  const destination = flags['backup-destination']
  if (destination === undefined) {
    throw new UsageError(`--${given[0]} needs --backup-destination: where the WAL and the backups go`, DESTINATION_HINT)
  }
  const provider = validateDestination(destination)
  const endpoint = flags['backup-endpoint']
  if (endpoint !== undefined && provider !== 's3') {
    throw new UsageError(
      `--backup-endpoint applies to an s3:// destination (an S3-compatible store such as MinIO), not to ${destination}`,
      'omit --backup-endpoint, or use an s3:// destination',
    )
  }
  return {
    destination,
    provider,
    endpoint: endpoint === undefined ? undefined : validateEndpoint(endpoint),
    credentialsSecret:
      flags['backup-credentials-secret'] === undefined
        ? undefined
        : validateSecretName(flags['backup-credentials-secret']),
    retention: validateRetention(flags['backup-retention'] ?? BACKUP_DEFAULTS.retention),
    schedule: validateSchedule(flags['backup-schedule'] ?? BACKUP_DEFAULTS.schedule),
  }
}

/** S3 bucket names (and GCS's, which also allow '_'): 3-63 lowercase letters, digits, '.', '-'. */
const BUCKET = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/
/** An Azure storage account's blob endpoint: ACCOUNT.blob.core.windows.net (or another Azure cloud's suffix). */
const AZURE_HOST = /^[a-z0-9]{3,24}\.blob\.core\.[a-z0-9.-]+$/

/** s3://BUCKET[/PATH], gs://BUCKET[/PATH] or http(s)://ACCOUNT.blob.core.windows.net/CONTAINER[/PATH]. */
export function validateDestination(destination: string): BackupProvider {
  const invalid = (why: string) =>
    new UsageError(`invalid backup destination '${destination}': ${why}`, DESTINATION_HINT)
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//.exec(destination)?.[1]
  if (scheme === 's3' || scheme === 'gs') {
    const [bucket, ...rest] = destination.slice(scheme.length + 3).split('/')
    if (!BUCKET.test(bucket) || (scheme === 's3' && bucket.includes('_'))) {
      throw invalid(`'${bucket}' is not a bucket name (3 to 63 lowercase letters, digits, '.' and '-')`)
    }
    if (rest.some((part, index) => part === '' && index < rest.length - 1) || /\s/.test(destination)) {
      throw invalid('the path after the bucket has an empty part or a space')
    }
    return scheme
  }
  if (scheme === 'https' || scheme === 'http') {
    let url: URL
    try {
      url = new URL(destination)
    } catch {
      throw invalid('not a URL')
    }
    const container = url.pathname.split('/').filter(Boolean)[0]
    if (!AZURE_HOST.test(url.hostname) || !container || url.search || url.hash || url.username) {
      throw invalid(
        'an http(s) destination must be an Azure blob container: https://ACCOUNT.blob.core.windows.net/CONTAINER[/PATH]',
      )
    }
    return 'azure'
  }
  throw invalid('must start with s3://, gs:// or https:// (an Azure blob container)')
}

/** An S3-compatible store's endpoint: http(s)://HOST[:PORT][/PATH], nothing else in it. */
export function validateEndpoint(endpoint: string): string {
  let url: URL | undefined
  try {
    url = new URL(endpoint)
  } catch {
    url = undefined
  }
  if (!url || !['http:', 'https:'].includes(url.protocol) || url.username || url.password || url.search || url.hash) {
    throw new UsageError(
      `invalid backup endpoint '${endpoint}': must be an http(s) URL without credentials, such as https://minio.example:9000`,
      'try --backup-endpoint https://minio.example:9000 (the keys go into the credentials Secret, never into the URL)',
    )
  }
  return endpoint
}

const SUBDOMAIN_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/

/** A Secret's name: an RFC 1123 subdomain. */
export function validateSecretName(name: string): string {
  if (name.length > 253 || !name.split('.').every((label) => SUBDOMAIN_LABEL.test(label))) {
    throw new UsageError(
      `invalid backup credentials secret '${name}': a Secret name is lowercase letters, digits, '-' and '.' (RFC 1123 subdomain)`,
      'try --backup-credentials-secret visits-backup-credentials',
    )
  }
  return name
}

/** The Barman Cloud plugin's form (its ObjectStore CRD's pattern): a positive number of days, weeks or months. */
export function validateRetention(retention: string): string {
  if (!/^[1-9][0-9]{0,5}[dwm]$/.test(retention)) {
    throw new UsageError(
      `invalid backup retention '${retention}': a recovery window in days, weeks or months, such as 30d, 4w or 6m`,
      `try --backup-retention ${BACKUP_DEFAULTS.retention}`,
    )
  }
  return retention
}

/** robfig/cron v1 (what CloudNativePG parses a ScheduledBackup with): seconds first, six fields. */
const FIELDS = [
  {name: 'second', min: 0, max: 59},
  {name: 'minute', min: 0, max: 59},
  {name: 'hour', min: 0, max: 23},
  {name: 'day of month', min: 1, max: 31},
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
  },
  {name: 'day of week', min: 0, max: 6, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT']},
] as const
const DESCRIPTORS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']

/**
 * Six fields (second minute hour day-of-month month day-of-week) or a descriptor (@daily). Five fields are
 * refused: CloudNativePG would read `0 3 * * *` as second 0 of minute 3 of every hour, not 03:00 daily.
 */
export function validateSchedule(schedule: string): string {
  const example = `--backup-schedule '${BACKUP_DEFAULTS.schedule}' (every day at 03:00: second minute hour day month weekday)`
  const hint = `try ${example}`
  const trimmed = schedule.trim()
  if (trimmed.startsWith('@')) {
    // @every takes a Go duration (1h30m); robfig/cron rounds it to whole seconds.
    if (DESCRIPTORS.includes(trimmed) || /^@every \d+(h|m|s)(\d+(m|s))?(\d+s)?$/.test(trimmed)) return trimmed
    throw new UsageError(
      `invalid backup schedule '${schedule}': unknown descriptor`,
      `try --backup-schedule @daily (or ${DESCRIPTORS.filter((d) => d !== '@daily').join(', ')}), or ${example}`,
    )
  }
  const fields = trimmed.split(/\s+/)
  if (fields.length === 5) {
    throw new UsageError(
      `invalid backup schedule '${schedule}': CloudNativePG's schedule has six fields, seconds first (five would be read as second minute hour day month)`,
      `try --backup-schedule '0 ${fields.join(' ')}'`,
    )
  }
  if (fields.length !== 6) {
    throw new UsageError(`invalid backup schedule '${schedule}': six fields, seconds first`, hint)
  }
  fields.forEach((field, index) => {
    const problem = fieldProblem(field, FIELDS[index])
    if (problem)
      throw new UsageError(`invalid backup schedule '${schedule}': the ${FIELDS[index].name} ${problem}`, hint)
  })
  return fields.join(' ')
}

function fieldProblem(field: string, spec: (typeof FIELDS)[number]): string | undefined {
  const value = (text: string): number | undefined => {
    const named = 'names' in spec ? (spec.names as readonly string[]).indexOf(text.toUpperCase()) : -1
    if (named >= 0) return named + spec.min
    return /^\d{1,2}$/.test(text) ? Number(text) : undefined
  }
  for (const part of field.split(',')) {
    const [range, step, ...more] = part.split('/')
    if (more.length > 0 || (step !== undefined && !/^[1-9]\d{0,1}$/.test(step))) return `'${field}' has a bad step`
    if (range === '*' || range === '?') continue
    const bounds = range.split('-')
    if (bounds.length > 2) return `'${field}' is not a number, a range or a list`
    const numbers = bounds.map(value)
    if (numbers.some((n) => n === undefined)) return `'${field}' is not a number, a range or a list`
    if (numbers.some((n) => n! < spec.min || n! > spec.max)) return `'${field}' is outside ${spec.min}-${spec.max}`
    if (numbers.length === 2 && numbers[0]! > numbers[1]!) return `'${field}' is a range that ends before it starts`
  }
  return undefined
}
