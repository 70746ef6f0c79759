/**
 * The stack as data: what the Compose, Swarm and Kubernetes writers render. Every value that varies between
 * stacks (images, ports, the volume's name, labels, replicas, placement) is decided here, once, from the
 * resolved configuration; the writers only say where each value goes in their format. Pure: no I/O.
 *
 * The password is never part of the model: the secret is a reference (its name, the file Compose reads it
 * from, the path it is mounted at), and services point at it with POSTGRES_PASSWORD_FILE.
 */
import {parseDocument} from 'yaml'

import {
  APP_CONTAINER_PORT,
  DB_CONTAINER_PORT,
  DB_NAME,
  DB_PUBLISH_HOST,
  DB_SECRET,
  DB_USER,
  pgDataMountPath,
  secretMountPath,
  VOLUME_KEY,
  volumeName,
  type StackConfig,
} from './config/stack-config.js'
import {LABELS} from './config/labels.js'
import {archiveServerArgs, BACKUPS_KEY, backupsVolumeName, pgbackrestEnvironment, REPO_PATH} from './protection.js'

/** The app service's mode label: `up --dev` runs the API from a working tree. */
export const MODE_LABEL = 'io.stackctl.mode'
/** The role CloudNativePG's initdb creates to own the database (its superuser stays disabled). */
export const CNPG_OWNER = 'app'

export interface PortModel {
  /** The container's port. */
  target: number
  /** The host (or swarm) port; a port that is not published has none. */
  published?: number
  /** The host address a Compose port is bound to. */
  hostIp?: string
  protocol: 'tcp'
}

export interface BindMount {
  source: string
  target: string
  readOnly: boolean
}

export interface Limits {
  /** A hard memory limit, in MiB (each writer spells it its own way: 1g, 1G, 1Gi). */
  memoryMiB: number
  /** Compose only: swarm and Kubernetes have no per-container process limit. */
  pids: number
}

export interface ServiceModel {
  image: string
  /** The probe's command (without Compose's CMD). */
  health: string[]
  /** Values only: the password is a file (POSTGRES_PASSWORD_FILE points at the secret's mount path). */
  environment: Readonly<Record<string, string>>
  ports: readonly PortModel[]
  labels: Readonly<Record<string, string>>
  limits: Limits
  /** The secrets (by key) mounted into the service. */
  secrets: readonly string[]
}

export interface DbService extends ServiceModel {
  /** Swarm placement constraints: the data volume is local to one node. */
  placement: readonly string[]
  /** The server's command with its settings (WAL archiving); undefined: the image's own. */
  command?: readonly string[]
}

export interface AppService extends ServiceModel {
  /** The image the app is built from (Compose's build arg); none in dev mode, which builds nothing. */
  buildFrom?: string
  user?: string
  /** Compose's userns_mode: `keep-id` on rootless Podman, so the API keeps the user's own id (capabilities.ts). */
  usernsMode?: 'keep-id'
  /** Dev mode's runner; undefined: the image's own command. */
  command?: readonly string[]
  mounts: readonly BindMount[]
  /** Swarm and Kubernetes run several; Compose runs one. */
  replicas?: number
}

export interface DataVolume {
  /** The key services mount it by. */
  key: typeof VOLUME_KEY
  /** Its name on the engine: `<project>_postgres_data`, or the volume `db upgrade` made. */
  name: string
  /** Where PostgreSQL's data lives in the db container. */
  mountPath: string
  /** Only what never changes (an engine cannot relabel a volume): the stack id and the project. */
  labels: Readonly<Record<string, string>>
  /** stackctl creates the volume (Compose) or the claim (Kubernetes): never an external one. */
  external: false
  /** Kubernetes: the PersistentVolumeClaim's size and class. */
  storage?: {size: string; className?: string}
}

/** The pgBackRest repository's volume (model/protection.ts): present when the stack archives its WAL. */
export interface BackupsVolume {
  key: typeof BACKUPS_KEY
  name: string
  mountPath: string
  labels: Readonly<Record<string, string>>
  /**
   * stackctl creates it before Compose starts the db, and Compose only uses it: `down --volumes` (Compose's
   * `down -v`) never removes an external volume, so the backups outlive the data they protect.
   */
  external: true
}

export interface SecretRef {
  /** The key services name it by (and the file name it is mounted as). */
  key: string
  /** The file of the stack directory Compose reads it from. */
  file: string
  /** Where it appears inside a container. */
  mountPath: string
  /** Swarm: the secret's versioned name (secrets cannot change, a new content gets a new name). */
  swarmName?: string
}

export interface SwarmNetwork {
  /** vip needs IPVS in the nodes' kernel; dnsrr hands out the tasks' own addresses. */
  endpointMode: 'vip' | 'dnsrr'
  /** ingress (the routing mesh) needs IPVS; host publishes on the nodes that run a task. */
  portMode: 'ingress' | 'host'
}

export type PostgresMode = 'statefulset' | 'cloudnative-pg'

/** Kubernetes object names (src/lib/targets/kubernetes/names.ts derives them from the project). */
export interface KubernetesObjectNames {
  base: string
  db: string
  dbHost: string
  app: string
  secret: string
  claimTemplate: string
}

export type BackupProvider = 's3' | 'gs' | 'azure'

/**
 * CloudNativePG's continuous backup through the Barman Cloud plugin: WAL archived to an object store (an
 * ObjectStore with its retention), a ScheduledBackup for the base backups. The store's keys are only named.
 */
export interface KubernetesBackupSettings {
  /** s3://BUCKET/PATH, gs://BUCKET/PATH or https://ACCOUNT.blob.core.windows.net/CONTAINER/PATH. */
  destination: string
  provider: BackupProvider
  /** An S3-compatible store's URL (MinIO); undefined: the provider's own. */
  endpoint?: string
  /** The Secret (made by the user) holding the store's keys; the manifests reference it, never a value. */
  credentialsSecret: string
  /** The plugin's recovery window: 30d, 4w, 6m. */
  retention: string
  /** The ScheduledBackup's cron (six fields, seconds first) or descriptor. */
  schedule: string
  objectStore: string
  scheduledBackup: string
}

export interface KubernetesPlacement {
  namespace: string
  postgres: PostgresMode
  names: KubernetesObjectNames
  /** CloudNativePG only; undefined: the Cluster archives no WAL and takes no backup. */
  backup?: KubernetesBackupSettings
}

export interface StackModel {
  project: string
  pgMajor: number
  services: {db: DbService; app: AppService}
  volume: DataVolume
  backups?: BackupsVolume
  secret: SecretRef
  /** The stack id and the project: on the network, and on swarm services where `docker service ls` shows them. */
  ownerLabels: Readonly<Record<string, string>>
  swarm?: SwarmNetwork
  kubernetes?: KubernetesPlacement
}

export interface StackIdentity {
  stackId: string
  /** The stack directory, so a container says where its stack lives (not on the volume: it may move). */
  dir: string
}

export interface DevMode {
  /** The app-dev.yml template's text. */
  overlayText: string
  /** Absolute host paths for the overlay's bind mounts, in its order: source, toolchain, runner. */
  sourceDir: string
  toolchainDir: string
  runnerDir: string
}

/** The resolved configuration the model is built from (Kubernetes has no host port, hence optional). */
export type ModelConfig = Pick<StackConfig, 'project' | 'pgMajor'> &
  Partial<Pick<StackConfig, 'host' | 'port'>> & {volume?: string; dbPort?: number; walArchive?: boolean}

export interface ModelInput {
  images: {postgres: string; /** The base the app image is built from. */ node?: string}
  /** The app image's reference. */
  appImage: string
  /** uid:gid the API runs as: the invoking user's, or 0:0 on rootless Docker (capabilities.ts: appRuntime). */
  appUser?: string
  /** `keep-id` on rootless Podman (capabilities.ts: appRuntime); the engine's default namespace otherwise. */
  appUsernsMode?: 'keep-id'
  /** Development mode: the API runs from a working tree instead of the built image. */
  dev?: DevMode
  /** Who the stack is: services, the network and the volume are labelled with it. */
  identity?: StackIdentity
  replicas?: number
  swarm?: SwarmNetwork & {dbNodeLabel: string; secretName: string}
  kubernetes?: KubernetesPlacement & {storage: {size: string; className?: string}}
}

/** The official image's health probe over TCP: the socket answers during init, before the real server. */
export function pgIsReady(): string[] {
  return ['pg_isready', '-h', '127.0.0.1', '-U', DB_USER, '-d', DB_NAME]
}

/**
 * The API's health probe: GET /healthz over bash's /dev/tcp, with the same one-line reasons as the image's own
 * `node server.mjs healthcheck`. Why not that: the engine runs the probe every 2 s for the life of the stack,
 * and starting Node.js and the server bundle costs about 0.4 s of CPU each time (measured: an idle stack's app
 * container used 0.15 of a core); bash costs a fraction of that. `$$` is Compose's (and stack deploy's) `$`.
 */
export const APP_PROBE_SCRIPT = [
  'port=$${PORT:-5000}',
  'exec 2>/dev/null 3<>/dev/tcp/127.0.0.1/$$port || { echo "the API is not listening on port $$port yet: it is starting or waiting for the database (see its log)"; exit 1; }',
  "printf 'GET /healthz HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n' >&3",
  'IFS=" " read -r -t 3 _ code _ <&3 || { echo "/healthz gave no answer within 3000 ms"; exit 1; }',
  '[ "$$code" = 200 ] && exit 0',
  // The body is the last line, without a newline after it: read returns 1 but still fills `line`.
  'body=; while IFS= read -r -t 3 line <&3 || [ -n "$$line" ]; do body=$$line; line=; done',
  're=\'"reason":"([^"]*)"\'',
  'if [ "$$code" != 503 ]; then echo "/healthz answered HTTP $$code"',
  'elif [[ $$body =~ $$re ]]; then echo "db unavailable: $${BASH_REMATCH[1]}"',
  'else echo "db unavailable: no reason given"; fi',
  'exit 1',
].join('; ')
const APP_PROBE = ['bash', '-c', APP_PROBE_SCRIPT]
const LIMITS = {db: {memoryMiB: 1024, pids: 512}, app: {memoryMiB: 256, pids: 128}} as const

export function stackModel(config: ModelConfig, input: ModelInput): StackModel {
  const secret: SecretRef = {
    key: DB_SECRET.name,
    file: `./${DB_SECRET.file}`,
    mountPath: secretMountPath(DB_SECRET.name),
    swarmName: input.swarm?.secretName,
  }
  const owner: Record<string, string> = input.identity
    ? {[LABELS.stackId]: input.identity.stackId, [LABELS.project]: config.project}
    : {}
  const serviceLabels = input.identity ? {...owner, [LABELS.dir]: input.identity.dir} : {}
  const k8s = input.kubernetes
  const dev = input.dev === undefined ? undefined : devApp(input.dev)
  // Compose only so far: a swarm's or a cluster's repository needs a placement of its own (issue 25).
  const archive = config.walArchive === true && input.swarm === undefined && k8s === undefined

  const db: DbService = {
    image: input.images.postgres,
    health: pgIsReady(),
    environment: {
      POSTGRES_USER: DB_USER,
      POSTGRES_DB: DB_NAME,
      POSTGRES_PASSWORD_FILE: secret.mountPath,
      ...(k8s ? {PGDATA: kubernetesPgData(config.pgMajor)} : {}),
      ...(archive ? pgbackrestEnvironment(pgDataMountPath(config.pgMajor)) : {}),
    },
    command: archive ? ['postgres', ...archiveServerArgs()] : undefined,
    // --db-port is for tools on this machine: a swarm cannot publish on loopback only (a stack file has no
    // host_ip), so a dbPort remembered from a Compose run never publishes the db on every node.
    ports:
      config.dbPort === undefined || input.swarm
        ? []
        : [{target: DB_CONTAINER_PORT, published: config.dbPort, hostIp: DB_PUBLISH_HOST, protocol: 'tcp'}],
    labels: serviceLabels,
    limits: LIMITS.db,
    secrets: [secret.key],
    placement: input.swarm ? [`node.labels.${input.swarm.dbNodeLabel} == true`] : [],
  }
  const app: AppService = {
    image: dev ? (input.images.node ?? input.appImage) : input.appImage,
    buildFrom: dev ? undefined : input.images.node,
    user: input.appUser,
    usernsMode: input.appUsernsMode,
    command: dev?.command,
    health: dev?.health ?? APP_PROBE,
    environment: {
      POSTGRES_HOST: k8s ? k8s.names.dbHost : 'db',
      POSTGRES_PORT: String(DB_CONTAINER_PORT),
      POSTGRES_USER: k8s?.postgres === 'cloudnative-pg' ? CNPG_OWNER : DB_USER,
      POSTGRES_DB: DB_NAME,
      POSTGRES_PASSWORD_FILE: secret.mountPath,
      PORT: String(APP_CONTAINER_PORT),
      // Sent back with every answer: stackctl tells its own API from another stack's on the same port.
      ...(input.identity ? {STACKCTL_STACK: input.identity.stackId} : {}),
      ...dev?.environment,
    },
    ports: [{target: APP_CONTAINER_PORT, published: config.port, hostIp: config.host, protocol: 'tcp'}],
    labels: {[MODE_LABEL]: dev ? 'dev' : 'normal', ...serviceLabels},
    limits: LIMITS.app,
    secrets: [secret.key],
    mounts: dev?.mounts ?? [],
    replicas: input.replicas,
  }
  return {
    project: config.project,
    pgMajor: config.pgMajor,
    services: {db, app},
    volume: {
      key: VOLUME_KEY,
      name: config.volume ?? volumeName(config.project),
      mountPath: pgDataMountPath(config.pgMajor),
      labels: owner,
      external: false,
      storage: k8s?.storage,
    },
    backups: archive
      ? {key: BACKUPS_KEY, name: backupsVolumeName(config.project), mountPath: REPO_PATH, labels: owner, external: true}
      : undefined,
    secret,
    ownerLabels: owner,
    swarm: input.swarm ? {endpointMode: input.swarm.endpointMode, portMode: input.swarm.portMode} : undefined,
    kubernetes: k8s
      ? {namespace: k8s.namespace, postgres: k8s.postgres, names: k8s.names, backup: k8s.backup}
      : undefined,
  }
}

/** PGDATA in a subdirectory of the volume; 18+ as the official image's new layout (/var/lib/postgresql/18/docker). */
export function kubernetesPgData(pgMajor: number): string {
  const mount = pgDataMountPath(pgMajor)
  return pgMajor >= 18 ? `${mount}/${pgMajor}/docker` : `${mount}/pgdata`
}

interface DevOverlay {
  command: string[]
  environment: Record<string, string>
  volumes: Array<{source: string; target: string; read_only?: boolean}>
  healthcheck: {test: string[]}
}

/** The dev overlay's runner, with its bind mounts pointed at this machine's directories (in the overlay's order). */
function devApp(dev: DevMode) {
  const doc = parseDocument(dev.overlayText)
  if (doc.errors.length > 0) throw new Error(`dev template is not valid YAML: ${doc.errors[0].message}`)
  const overlay = doc.toJS() as DevOverlay
  const sources = [dev.sourceDir, dev.toolchainDir, dev.runnerDir]
  return {
    command: overlay.command,
    environment: overlay.environment,
    mounts: overlay.volumes.map((volume, index) => ({
      source: sources[index] ?? volume.source,
      target: volume.target,
      readOnly: volume.read_only === true,
    })),
    health: withoutCmd(overlay.healthcheck.test),
  }
}

function withoutCmd(test: string[]): string[] {
  return test[0] === 'CMD' ? test.slice(1) : test
}
