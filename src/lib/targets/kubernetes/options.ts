/**
 * The kubernetes target's options, validated before anything is read or written: a bad value is one line
 * saying what is wrong and one with a value that works (exit 2). Pure: no I/O here.
 */
import {UsageError} from '../../errors.js'
import {parseBackupOptions, type BackupFlags, type BackupOptions} from './backup-options.js'

export const POSTGRES_MODES = ['statefulset', 'cloudnative-pg'] as const
export type PostgresMode = (typeof POSTGRES_MODES)[number]

export const KUBERNETES_DEFAULTS = {replicas: 2, storageSize: '10Gi', postgres: 'statefulset' as PostgresMode}
export const MAX_REPLICAS = 50

/** The flags as oclif hands them over; each is undefined when not given (the defaults are applied here). */
export interface KubernetesFlags extends BackupFlags {
  out?: string
  namespace?: string
  replicas?: number
  'storage-class'?: string
  'storage-size'?: string
  'image-registry'?: string
  postgres?: string
}

export interface KubernetesOptions {
  /** Undefined: the namespace named after the project. */
  namespace?: string
  replicas: number
  storageSize: string
  /** Undefined: the cluster's default StorageClass. */
  storageClass?: string
  /** Undefined: the images' own registries (Docker Hub, ghcr.io). */
  registry?: string
  postgres: PostgresMode
  /** As given; resolved against the working directory by the caller. Undefined: <stack dir>/kubernetes. */
  out?: string
  /** CloudNativePG's WAL archiving and scheduled backups; undefined without --backup-destination. */
  backup?: BackupOptions
}

export function parseKubernetesOptions(flags: KubernetesFlags): KubernetesOptions {
  const postgres = validatePostgresMode(flags.postgres ?? KUBERNETES_DEFAULTS.postgres)
  return {
    namespace: flags.namespace === undefined ? undefined : validateNamespace(flags.namespace),
    replicas: validateReplicas(flags.replicas ?? KUBERNETES_DEFAULTS.replicas),
    storageSize: validateStorageSize(flags['storage-size'] ?? KUBERNETES_DEFAULTS.storageSize),
    storageClass: flags['storage-class'] === undefined ? undefined : validateStorageClass(flags['storage-class']),
    registry: flags['image-registry'] === undefined ? undefined : validateRegistry(flags['image-registry']),
    postgres,
    out: flags.out === undefined ? undefined : validateOut(flags.out),
    backup: parseBackupOptions(backupFlags(flags), postgres),
  }
}

function backupFlags(flags: KubernetesFlags): BackupFlags {
  return {
    'backup-destination': flags['backup-destination'],
    'backup-endpoint': flags['backup-endpoint'],
    'backup-credentials-secret': flags['backup-credentials-secret'],
    'backup-retention': flags['backup-retention'],
    'backup-schedule': flags['backup-schedule'],
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/

/** RFC 1123 label: what Kubernetes accepts as a namespace name. */
export function validateNamespace(namespace: string): string {
  if (namespace.length > 63 || !DNS_LABEL.test(namespace)) {
    throw new UsageError(
      `invalid namespace '${namespace}': at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit (RFC 1123 label)`,
      `try --namespace ${suggestName(namespace).slice(0, 63).replace(/-+$/, '') || 'visits'}`,
    )
  }
  return namespace
}

/** RFC 1123 subdomain: what Kubernetes accepts as a StorageClass name. */
export function validateStorageClass(name: string): string {
  const labels = name.split('.')
  if (name.length > 253 || !labels.every((label) => DNS_LABEL.test(label))) {
    throw new UsageError(
      `invalid storage class '${name}': lowercase letters, digits, '-' and '.', each dot-separated part starting and ending with a letter or digit (RFC 1123 subdomain)`,
      'name a StorageClass of the cluster (kubectl get storageclass), e.g. --storage-class standard',
    )
  }
  return name
}

export function validateReplicas(replicas: number): number {
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > MAX_REPLICAS) {
    throw new UsageError(
      `invalid replicas '${replicas}': must be an integer from 1 to ${MAX_REPLICAS}`,
      'try --replicas 2',
    )
  }
  return replicas
}

const UNITS: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
}
const QUANTITY = /^(\d{1,9}(?:\.\d{1,6})?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)$/
/** Below this PostgreSQL's WAL segments and a checkpoint's headroom hardly fit. */
const MIN_STORAGE_BYTES = 2 ** 30

/** A Kubernetes quantity with a unit (10Gi, 500G, 1.5Ti), of at least 1Gi. */
export function validateStorageSize(size: string): string {
  const match = QUANTITY.exec(size)
  if (!match) {
    throw new UsageError(
      `invalid storage size '${size}': must be a Kubernetes quantity with a unit, such as 10Gi, 500G or 1.5Ti`,
      'try --storage-size 10Gi',
    )
  }
  if (Number(match[1]) * UNITS[match[2]] < MIN_STORAGE_BYTES) {
    throw new UsageError(`storage size '${size}' is too small for a database: at least 1Gi`, 'try --storage-size 10Gi')
  }
  return size
}

const HOST = /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*$/
const PATH_COMPONENT = /^[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*$/

/**
 * HOST[:PORT][/PATH] as Docker reads an image reference: the host must look like one (a dot, a port or
 * localhost), else `NAME/postgres:17` would mean Docker Hub's user NAME.
 */
export function validateRegistry(registry: string): string {
  const [hostPort, ...path] = registry.split('/')
  const [host, port, ...rest] = hostPort.split(':')
  const portOk = port === undefined || (/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)
  const looksLikeHost = host.includes('.') || port !== undefined || host === 'localhost'
  const valid =
    HOST.test(host) && rest.length === 0 && portOk && looksLikeHost && path.every((part) => PATH_COMPONENT.test(part))
  if (!valid) {
    throw new UsageError(
      `invalid image registry '${registry}': must be HOST[:PORT][/PATH], a host with a dot or a port (or localhost), and a lowercase path`,
      'try --image-registry registry.example.com:5000/visits (for Docker Hub: --image-registry docker.io/USER)',
    )
  }
  return registry
}

function validatePostgresMode(mode: string): PostgresMode {
  if (!(POSTGRES_MODES as readonly string[]).includes(mode)) {
    throw new UsageError(`unknown --postgres '${mode}'`, `use one of: ${POSTGRES_MODES.join(', ')}`)
  }
  return mode as PostgresMode
}

function validateOut(out: string): string {
  if (out.trim() === '') throw new UsageError('--out is empty', 'name a directory, e.g. --out ./kubernetes')
  return out
}

/** Compose project names may hold '_', Kubernetes names may not. */
export function suggestName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+/, '')
}
