/**
 * What stackctl needs from a container engine, as small interfaces. One implementation talks to Docker through
 * dockerode (dockerode-engine.ts, the only module that imports it) and is created once per command and handed
 * down; unit tests hand in a stub. Everything here is plain data: no dockerode type leaks out.
 */
import type {Readable, Writable} from 'node:stream'

export type Health = 'healthy' | 'unhealthy' | 'starting' | 'none'

export interface PortBinding {
  hostIp?: string
  hostPort?: number
  containerPort: number
}

export interface ContainerSummary {
  id: string
  name: string
  /** Compose's project and service labels ('' when absent). */
  project: string
  service: string
  /** running | exited | created | restarting | paused | dead */
  state: string
  health: Health
  labels: Record<string, string>
  image: string
  imageId: string
  ports: PortBinding[]
  /** Names of the volumes it mounts (absent where the engine did not say). */
  volumes?: string[]
}

export interface ContainerFilter {
  /** Compose project (com.docker.compose.project). */
  project?: string
  /** Compose service (com.docker.compose.service); with `project`. */
  service?: string
  /** Only running containers; the default lists stopped ones too. */
  runningOnly?: boolean
  /** Containers publishing this host port. */
  publishes?: number
  /** Containers using this volume. */
  volume?: string
  /** Containers carrying this label (`key` or `key=value`). */
  label?: string
}

export interface MountInfo {
  type: string
  destination: string
  /** The volume's name for volume mounts. */
  name?: string
  /** The host path for bind mounts. */
  source?: string
}

export interface ContainerDetails {
  id: string
  name: string
  running: boolean
  /** The process's exit code once it ended (0 while running). */
  exitCode: number
  /** When the main process ended, in ms since the epoch; undefined while it never has. */
  finishedAtMs: number | undefined
  startedAtMs: number | undefined
  /** The engine's error when the container could not start (e.g. a bad mount). */
  error: string
  /**
   * `test`: the check's command as the engine runs it (CMD and its arguments, `$$` already made `$`);
   * `intervalMs`/`timeoutMs`: its timing as configured (absent where the engine's defaults apply).
   */
  health: {status: Health; lastOutput?: string; test?: string[]; intervalMs?: number; timeoutMs?: number} | undefined
  mounts: MountInfo[]
  /** Paths mounted as tmpfs through HostConfig.Tmpfs. */
  tmpfs: string[]
  restartCount: number
  /** The host ports it is configured to publish (HostConfig), listed even between two restarts. */
  configuredHostPorts: number[]
}

export interface ExecOptions {
  /** Fed to the process's stdin, which is closed at its end. */
  stdin?: Readable
  /** Receives stdout as it comes (a dump never sits in memory whole); otherwise stdout is collected. */
  stdout?: Writable
  /** Collected stdout beyond this is cut (and `truncated` says so). Default 16 MiB. */
  maxOutputBytes?: number
  /** Extra environment for the process (NAME=value): for values that must not be on a command line. */
  env?: string[]
  /** Aborting stops the process (its streams are closed) and the call rejects with the signal's reason. */
  signal?: AbortSignal
  /**
   * The user the process runs as (the container's own user when absent): the engine switches to it, with that
   * user's groups and home from the container's /etc/passwd and /etc/group, as `docker exec --user` does.
   */
  user?: string
}

export interface ExecResult {
  exitCode: number
  stdout: string
  /** The tail of what the process wrote to stderr (bounded). */
  stderr: string
  /** True when collected stdout or stderr exceeded its bound and was cut. */
  truncated: boolean
}

export interface OneShotOptions {
  image: string
  entrypoint: string[]
  cmd: string[]
  /** Volumes to mount read-only: volume name → path inside the container. */
  readOnlyVolumes: Record<string, string>
  /** The user the container runs as; root (0:0) when absent, whatever the image says. */
  user?: string
}

/** A long-running helper container (e.g. the new server of `db upgrade`), started detached. */
export interface ContainerSpec {
  name: string
  image: string
  /** NAME=value; never a secret's value: secrets are bind-mounted files. */
  env: string[]
  cmd?: string[]
  labels: Record<string, string>
  /** Volumes mounted read-write: volume name → path inside the container. */
  volumes: Record<string, string>
  /** Host files mounted read-only: host path → path inside the container. */
  readOnlyFiles: Record<string, string>
  /** A network to join, so the container reaches the stack's services by name. */
  network?: string
  shmSizeBytes?: number
  /** The user the container runs as (the image's when absent). */
  user?: string
}

export interface ContainerClient {
  list(filter: ContainerFilter): Promise<ContainerSummary[]>
  /** undefined when the engine does not know the container (any more). */
  inspect(id: string): Promise<ContainerDetails | undefined>
  kill(id: string, signal: string): Promise<void>
  /**
   * Stops a container the way its configuration asks (its stop signal, then its grace period before SIGKILL):
   * PostgreSQL's SIGINT and 60 s from the rendered file. A container already stopped or gone is fine.
   */
  stop(id: string): Promise<void>
  logTail(id: string, lines: number): Promise<string>
  /** Runs a process in a running container and waits for its exit code. */
  exec(id: string, cmd: string[], options?: ExecOptions): Promise<ExecResult>
  /**
   * Starts a process in a running container and returns at once; it runs until it exits or the container
   * stops. Its parent is the engine's shim, not the container's first process: a server running as PID 1 never
   * has to reap it.
   */
  execDetached(id: string, cmd: string[], options?: Pick<ExecOptions, 'user'>): Promise<void>
  /** A short-lived container with no network and the volumes mounted read-only, removed afterwards. */
  runOneShot(options: OneShotOptions): Promise<ExecResult>
  /** Creates and starts a detached container; resolves its id. */
  start(spec: ContainerSpec): Promise<string>
  /** Removes a container (stopping it first); a container already gone is fine. */
  remove(id: string): Promise<void>
}

export interface VolumeInfo {
  name: string
  driver: string
  mountpoint: string
  scope: string
  createdAt: string | null
  labels: Record<string, string>
  options: Record<string, string>
}

/** Counts the engine's `destroy` events for one volume while it is open. */
export interface VolumeWatch {
  readonly destroyEvents: number
  close(): void
}

export interface VolumeCreate {
  name: string
  labels: Record<string, string>
  driver?: string
  driverOptions?: Record<string, string>
}

export interface VolumeClient {
  inspect(name: string): Promise<VolumeInfo | undefined>
  create(volume: VolumeCreate): Promise<VolumeInfo>
  /** Removes a volume; the engine refuses while a container uses it. A volume already gone is fine. */
  remove(name: string): Promise<void>
  /** Volumes carrying this label (`key` or `key=value`). */
  list(label: string): Promise<VolumeInfo[]>
  /** Bytes used according to the engine's disk-usage report; -1 when it does not know. */
  sizeBytes(name: string): Promise<number>
  watch(name: string): Promise<VolumeWatch>
}

export interface ImageInfo {
  id: string
  sizeBytes: number
  labels: Record<string, string>
}

export interface ImageClient {
  inspect(reference: string): Promise<ImageInfo | undefined>
  /** Removes an image unless something still uses it; resolves whether it went. */
  removeIfUnused(id: string): Promise<boolean>
}

export interface NetworkClient {
  /** Names of the networks of a Compose project. */
  listByProject(project: string): Promise<string[]>
  /** Removes a network; one already gone is fine. */
  remove(name: string): Promise<void>
}

export interface EngineDescription {
  /** Docker's engine, or Podman behind its Docker-compatible API (which says so in its version's components). */
  kind: 'docker' | 'podman'
  version: string
  apiVersion: string
  /** Where the engine keeps its data (for free-space checks); undefined when it does not say. */
  rootDir: string | undefined
  /** The engine runs as an unprivileged user (its security options name `rootless`). */
  rootless: boolean
  /** 1 or 2; undefined when the engine does not say. */
  cgroupVersion: number | undefined
}

export interface Engine {
  /** The endpoint as the user would name it (DOCKER_HOST or the default socket). */
  readonly endpoint: string
  /** Resolves when the engine answers; EngineUnreachable otherwise. */
  ping(): Promise<void>
  describe(): Promise<EngineDescription>
  readonly containers: ContainerClient
  readonly volumes: VolumeClient
  readonly images: ImageClient
  readonly networks: NetworkClient
  readonly swarm: SwarmClient
}

export interface SwarmState {
  /** The engine is part of a swarm. */
  active: boolean
  /** The engine is a manager, so it can deploy stacks and answer for every node. */
  manager: boolean
  nodeId: string
}

export type NodeAvailability = 'active' | 'pause' | 'drain'

export interface SwarmNode {
  id: string
  hostname: string
  role: 'manager' | 'worker'
  availability: NodeAvailability
  /** ready | down | unknown | disconnected */
  state: string
  /** The address the node is reached at inside the swarm. */
  addr: string
  labels: Record<string, string>
}

export interface SwarmService {
  id: string
  name: string
  /** Replicas asked for; undefined for a global service. */
  replicas: number | undefined
  labels: Record<string, string>
}

export interface SwarmTask {
  id: string
  serviceName: string
  slot: number | undefined
  nodeId: string
  /** What the orchestrator wants: running | shutdown | ready | … */
  desiredState: string
  /** Where the task is: new | pending | assigned | preparing | starting | running | failed | shutdown | rejected | … */
  state: string
  message: string
  error: string
  containerId: string | undefined
  updatedAtMs: number
}

export interface SwarmSecret {
  id: string
  name: string
  labels: Record<string, string>
}

/** A swarm through one of its managers (stacks are the `com.docker.stack.namespace` label's services). */
export interface SwarmClient {
  state(): Promise<SwarmState>
  nodes(): Promise<SwarmNode[]>
  /** Adds (value string) or removes (value null) node labels, and/or sets the node's availability. */
  updateNode(
    id: string,
    change: {labels?: Record<string, string | null>; availability?: NodeAvailability},
  ): Promise<void>
  services(stack: string): Promise<SwarmService[]>
  tasks(stack: string): Promise<SwarmTask[]>
  secrets(label: string): Promise<SwarmSecret[]>
  removeSecret(id: string): Promise<void>
  /** Names of the stack's networks. */
  networks(stack: string): Promise<string[]>
}

/**
 * One look at a Compose project (its containers, volumes and networks, with their labels, state and health),
 * taken once per command (src/lib/plan/observe.ts) and handed down: planners judge it instead of asking again.
 */
export interface ProjectSnapshot {
  project: string
  containers: ContainerSummary[]
  /** The volumes labelled as the project's (com.docker.compose.project). */
  volumes: VolumeInfo[]
  /** Names of the project's networks. */
  networks: string[]
}
