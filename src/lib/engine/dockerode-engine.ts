/**
 * The Engine over dockerode — the only module that imports it. The endpoint comes from DOCKER_HOST (and
 * DOCKER_TLS_VERIFY / DOCKER_CERT_PATH) exactly as docker-modem reads it, for every caller: unix sockets,
 * tcp:// with or without TLS, ssh://. No API version is pinned, so it negotiates down to old engines.
 */
import {PassThrough, type Readable, type Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import createDebug from 'debug'
import type Docker from 'dockerode'

import {EngineUnreachable, Interrupted, VolumeOptionsRefused} from '../errors.js'
import type {
  EngineDescription,
  ContainerClient,
  ContainerDetails,
  ContainerFilter,
  ContainerSummary,
  Engine,
  ExecOptions,
  ExecResult,
  ImageClient,
  NetworkClient,
  ContainerSpec,
  OneShotOptions,
  SwarmClient,
  SwarmTask,
  VolumeCreate,
  VolumeClient,
  VolumeWatch,
} from './engine.js'
import {feed, FeedError} from './feed.js'
import {BoundedText, demuxBuffer, FrameDemuxer, healthFromStatus} from './frames.js'
import {dfIsSummaryOnly, isDiskUsageBusy, volumeSizeFromDf} from './disk-usage.js'
import {failed, ready, waitUntil, waiting} from './wait/wait-until.js'
import {engineEndpoint} from './endpoint.js'

const debug = createDebug('stackctl:engine')

/** stderr is for messages: keep its tail, bounded whatever a process prints. */
const STDERR_LIMIT = 64 * 1024
const DEFAULT_OUTPUT_LIMIT = 16 * 1024 * 1024
const DOCKER_ENV = ['DOCKER_HOST', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH'] as const

/**
 * dockerode, with its gRPC/BuildKit and ssh2 modules, is hundreds of files: it is loaded on an engine's first
 * request, not when a command module is imported, so that help, --version and engine-free commands start fast.
 */
type DockerClient = () => Promise<Docker>

/** The one place an engine client is made. */
export function createEngine(env: NodeJS.ProcessEnv = process.env): Engine {
  const dockerEnv = Object.fromEntries(DOCKER_ENV.map((name) => [name, env[name]]))
  let client: Promise<Docker> | undefined
  return new DockerodeEngine(() => (client ??= createDockerode(dockerEnv)), engineEndpoint(env))
}

/** The Engine over a given dockerode client (tests hand in a stand-in to reach the engine's edge cases). */
export function engineOver(docker: Docker, endpoint: string): Engine {
  return new DockerodeEngine(async () => docker, endpoint)
}

/**
 * docker-modem reads the DOCKER_* variables of process.env when it is built: hand it the ones createEngine was
 * given (taken when it was called) for that moment — synchronously, so nothing else runs while they are swapped.
 */
async function createDockerode(dockerEnv: Record<string, string | undefined>): Promise<Docker> {
  const {default: Docker} = await import('dockerode')
  const saved = DOCKER_ENV.map((name) => [name, process.env[name]] as const)
  try {
    for (const name of DOCKER_ENV) {
      if (dockerEnv[name] === undefined) delete process.env[name]
      else process.env[name] = dockerEnv[name]
    }
    return new Docker()
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  }
}

/**
 * A volume create the engine refused for its driver options, as its own words say: Docker answers 400
 * (`missing required option: "type"`, `invalid option: "foo"`), Podman 500 (`invalid mount option foo for driver
 * 'local'`). Undefined for any other failure.
 */
function optionsRefused(volume: VolumeCreate, error: unknown): VolumeOptionsRefused | undefined {
  if (Object.keys(volume.driverOptions ?? {}).length === 0) return undefined
  const said = (error as {json?: {message?: unknown}}).json?.message
  const message = typeof said === 'string' ? said : error instanceof Error ? error.message : String(error)
  const code = statusCode(error)
  if (code !== 400 && !(code === 500 && /invalid (mount )?option/i.test(message))) return undefined
  const reason = message.replace(/^\(HTTP code \d+\)[^-]*- /, '').replace(`create ${volume.name}: `, '')
  return new VolumeOptionsRefused(volume.name, reason.trim(), error)
}

function statusCode(error: unknown): number | undefined {
  return (error as {statusCode?: number}).statusCode
}

async function orUndefined<T>(work: Promise<T>): Promise<T | undefined> {
  try {
    return await work
  } catch (error) {
    if (statusCode(error) === 404) return undefined
    throw error
  }
}

class DockerodeEngine implements Engine {
  readonly containers: ContainerClient
  readonly volumes: VolumeClient
  readonly images: ImageClient
  readonly networks: NetworkClient
  readonly swarm: SwarmClient

  constructor(
    private readonly docker: DockerClient,
    readonly endpoint: string,
  ) {
    this.containers = new DockerodeContainers(docker)
    this.volumes = new DockerodeVolumes(docker)
    this.images = new DockerodeImages(docker)
    this.swarm = new DockerodeSwarm(docker)
    this.networks = {
      listByProject: async (project) =>
        (await (await docker()).listNetworks({filters: {label: [`com.docker.compose.project=${project}`]}})).map(
          (n) => n.Name,
        ),
      remove: async (name) => {
        await orUndefined((await docker()).getNetwork(name).remove())
      },
    }
  }

  async ping(): Promise<void> {
    try {
      await (await this.docker()).ping()
    } catch (error) {
      throw new EngineUnreachable(this.endpoint, error)
    }
  }

  private described: Promise<EngineDescription> | undefined

  /** Asked once per engine: several steps of one command consult it (the render, the build, doctor). */
  describe(): Promise<EngineDescription> {
    this.described ??= (async () => {
      const docker = await this.docker()
      // Podman's Docker-compatible /info never names `rootless` in its security options; its own API does. Asked
      // at the same time (each answer takes Podman most of a second on a busy host); Docker answers it 404.
      const [version, info, libpod] = await Promise.all([
        docker.version(),
        docker.info(),
        libpodInfo(docker).catch(() => undefined),
      ])
      const description = describeEngine(version, info)
      return description.kind === 'podman' ? {...description, rootless: podmanRootless(libpod)} : description
    })()
    this.described.catch(() => {
      this.described = undefined // an engine that did not answer is asked again
    })
    return this.described
  }
}

/** Podman's own /info (host.security.rootless). Under a version prefix: Podman 4.3 answers 404 without one. */
function libpodInfo(docker: Docker): Promise<unknown> {
  return new Promise((resolve, reject) => {
    docker.modem.dial(
      {path: '/v4.0.0/libpod/info', method: 'GET', statusCodes: {200: true, 404: 'not found', 500: 'server error'}},
      (error: Error | null, data: unknown) => (error ? reject(error) : resolve(data)),
    )
  })
}

/** Exported for its unit test. */
export function podmanRootless(info: unknown): boolean {
  return (info as {host?: {security?: {rootless?: boolean}}}).host?.security?.rootless === true
}

interface VersionAnswer {
  Version: string
  ApiVersion: string
  Components?: Array<{Name?: string}>
}

/** What the engine says of itself (GET /version and /info) as stackctl needs it. Exported for its unit test. */
export function describeEngine(version: VersionAnswer, info: unknown): EngineDescription {
  const facts = info as {DockerRootDir?: string; SecurityOptions?: string[]; CgroupVersion?: string}
  const cgroup = Number(facts.CgroupVersion)
  return {
    kind: (version.Components ?? []).some((c) => /podman/i.test(c.Name ?? '')) ? 'podman' : 'docker',
    version: version.Version,
    apiVersion: version.ApiVersion,
    rootDir: facts.DockerRootDir,
    rootless: (facts.SecurityOptions ?? []).some((option) => option.split(',').includes('name=rootless')),
    cgroupVersion: Number.isInteger(cgroup) && cgroup > 0 ? cgroup : undefined,
  }
}

class DockerodeContainers implements ContainerClient {
  private podman: Promise<boolean> | undefined

  constructor(private readonly docker: DockerClient) {}

  /** Asked once per engine: Podman's container list leaves health out of Status ("Up 2 minutes"). */
  private isPodman(): Promise<boolean> {
    this.podman ??= (async () => {
      const version = (await (await this.docker()).version()) as VersionAnswer
      return (version.Components ?? []).some((c) => /podman/i.test(c.Name ?? ''))
    })()
    return this.podman
  }

  /** Health from inspect (State.Health), for the running containers whose list entry does not carry it. */
  private async withInspectedHealth(list: ContainerSummary[]): Promise<ContainerSummary[]> {
    if (!list.some((c) => c.state === 'running') || !(await this.isPodman())) return list
    return Promise.all(
      list.map(async (c) => {
        if (c.state !== 'running' || c.health !== 'none') return c
        const health = (await this.inspect(c.id))?.health?.status
        return health ? {...c, health} : c
      }),
    )
  }

  async list(filter: ContainerFilter): Promise<ContainerSummary[]> {
    const label = [
      ...(filter.project ? [`com.docker.compose.project=${filter.project}`] : []),
      ...(filter.service ? [`com.docker.compose.service=${filter.service}`] : []),
      ...(filter.label ? [filter.label] : []),
    ]
    const filters: Record<string, string[]> = {}
    if (label.length > 0) filters.label = label
    // No `publish` filter sent: Podman's compatible API refuses it (HTTP 500 "publish is an invalid filter"),
    // so the published port is matched here, on every engine alike.
    if (filter.volume) filters.volume = [filter.volume]
    const list = await (await this.docker()).listContainers({all: !filter.runningOnly, filters})
    const summaries: ContainerSummary[] = list
      .map((c) => ({
        id: c.Id,
        name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
        project: c.Labels?.['com.docker.compose.project'] ?? '',
        service: c.Labels?.['com.docker.compose.service'] ?? '',
        state: c.State,
        health: c.State === 'running' ? healthFromStatus(c.Status) : ('none' as const),
        labels: c.Labels ?? {},
        image: c.Image,
        imageId: c.ImageID,
        ports: (c.Ports ?? []).map((p) => ({hostIp: p.IP, hostPort: p.PublicPort, containerPort: p.PrivatePort})),
        volumes: (c.Mounts ?? []).filter((m) => m.Type === 'volume' && m.Name).map((m) => m.Name!),
      }))
      .filter((c) => filter.publishes === undefined || c.ports.some((p) => p.hostPort === filter.publishes))
      .sort((a, b) => a.service.localeCompare(b.service) || a.name.localeCompare(b.name))
    return this.withInspectedHealth(summaries)
  }

  async inspect(id: string): Promise<ContainerDetails | undefined> {
    const info = await orUndefined((await this.docker()).getContainer(id).inspect())
    if (!info) return undefined
    const time = (text: string | undefined) => {
      const ms = Date.parse(text ?? '')
      return Number.isFinite(ms) && ms > 0 ? ms : undefined
    }
    const health = info.State.Health
    return {
      id: info.Id,
      name: info.Name.replace(/^\//, ''),
      running: info.State.Running,
      exitCode: info.State.ExitCode,
      finishedAtMs: time(info.State.FinishedAt),
      startedAtMs: time(info.State.StartedAt),
      error: info.State.Error ?? '',
      health: health
        ? {
            status: health.Status === 'starting' ? 'starting' : (health.Status as 'healthy' | 'unhealthy'),
            lastOutput: health.Log?.at(-1)?.Output?.trim(),
            test: info.Config?.Healthcheck?.Test,
            intervalMs: nanosToMs(info.Config?.Healthcheck?.Interval),
            timeoutMs: nanosToMs(info.Config?.Healthcheck?.Timeout),
          }
        : undefined,
      mounts: (info.Mounts ?? []).map((m) => ({
        type: m.Type,
        destination: m.Destination,
        ...(m.Type === 'volume' && m.Name ? {name: m.Name} : m.Source ? {source: m.Source} : {}),
      })),
      tmpfs: Object.keys(info.HostConfig.Tmpfs ?? {}),
      restartCount: info.RestartCount ?? 0,
      configuredHostPorts: Object.values(info.HostConfig.PortBindings ?? {})
        .flatMap((bindings) => (bindings as Array<{HostPort?: string}> | null) ?? [])
        .map((binding) => Number(binding.HostPort))
        .filter((port) => Number.isInteger(port) && port > 0),
    }
  }

  async kill(id: string, signal: string): Promise<void> {
    await (await this.docker()).getContainer(id).kill({signal})
  }

  async stop(id: string): Promise<void> {
    try {
      // No `t`: the engine then uses the container's own StopTimeout (Compose sets it from stop_grace_period).
      await (await this.docker()).getContainer(id).stop()
    } catch (error) {
      // 304: already stopped; 404: gone.
      if (statusCode(error) !== 304 && statusCode(error) !== 404) throw error
    }
  }

  async logTail(id: string, lines: number): Promise<string> {
    const buffer = (await (
      await this.docker()
    )
      .getContainer(id)
      .logs({stdout: true, stderr: true, tail: lines})) as Buffer
    return demuxBuffer(buffer)
  }

  async exec(id: string, cmd: string[], options: ExecOptions = {}): Promise<ExecResult> {
    debug('exec %s', cmd[0])
    if (options.signal?.aborted) throw interruptedBy(options.signal)
    const exec = await (await this.docker()).getContainer(id).exec({
      Cmd: cmd,
      Env: options.env,
      ...(options.user === undefined ? {} : {User: options.user}),
      AttachStdin: Boolean(options.stdin),
      AttachStdout: true,
      AttachStderr: true,
    })
    const socket = (await exec.start({hijack: true, stdin: Boolean(options.stdin)})) as NodeJS.ReadWriteStream &
      Writable &
      Readable
    const stderr = new BoundedText(STDERR_LIMIT)
    const stdout = new BoundedText(options.maxOutputBytes ?? DEFAULT_OUTPUT_LIMIT, 'head')
    const onAbort = () => socket.destroy()
    options.signal?.addEventListener('abort', onAbort, {once: true})
    try {
      const feeding = options.stdin ? feed(options.stdin, socket) : Promise.resolve()
      const sink = options.stdout ?? collectInto(stdout)
      const reading = pipeline(socket, new FrameDemuxer((chunk) => stderr.add(chunk)), sink)
      const [fed, read] = await Promise.allSettled([feeding, reading])
      // Both directions are done with: release the connection (a process that stopped reading early leaves it
      // half open).
      socket.destroy()
      if (options.signal?.aborted) throw interruptedBy(options.signal)
      const exitCode = await exitCodeOf(exec)
      debug('exit %d %s', exitCode, cmd[0])
      // The source failing (a file that cannot be read) is always a failure.
      if (fed.status === 'rejected' && (fed.reason as FeedError).side === 'source') throw fed.reason.cause
      // A process that exits 0 may stop reading early (pg_restore --list reads only the table of contents):
      // its broken stdin is no failure. A broken stdout of a process that succeeded is.
      if (exitCode === 0 && read.status === 'rejected') throw read.reason
      return {exitCode, stdout: stdout.text(), stderr: stderr.text(), truncated: stdout.truncated || stderr.truncated}
    } finally {
      options.signal?.removeEventListener('abort', onAbort)
    }
  }

  async execDetached(id: string, cmd: string[], options: Pick<ExecOptions, 'user'> = {}): Promise<void> {
    debug('exec detached %s', cmd[0])
    const exec = await (await this.docker()).getContainer(id).exec({
      Cmd: cmd,
      ...(options.user === undefined ? {} : {User: options.user}),
      AttachStdout: false,
      AttachStderr: false,
    })
    // The engine answers once the process is started, but keeps the connection: left open, it holds this
    // process alive after its work is done.
    const response = (await exec.start({Detach: true})) as unknown
    if (response && typeof (response as {destroy?: unknown}).destroy === 'function') {
      ;(response as {destroy(): void}).destroy()
    }
  }

  async runOneShot(options: OneShotOptions): Promise<ExecResult> {
    const container = await (
      await this.docker()
    ).createContainer({
      Image: options.image,
      Entrypoint: options.entrypoint,
      Cmd: options.cmd,
      User: options.user ?? '0:0',
      NetworkDisabled: true,
      HostConfig: {
        AutoRemove: true,
        NetworkMode: 'none',
        Mounts: Object.entries(options.readOnlyVolumes).map(([source, target]) => ({
          Type: 'volume' as const,
          Source: source,
          Target: target,
          ReadOnly: true,
        })),
      },
    })
    debug('one-shot %s %s', container.id.slice(0, 12), [...options.entrypoint, ...options.cmd].join(' '))
    try {
      const stream = (await container.attach({stream: true, stdout: true, stderr: true})) as NodeJS.ReadableStream
      const stdout = new BoundedText(DEFAULT_OUTPUT_LIMIT, 'head')
      const stderr = new BoundedText(STDERR_LIMIT)
      const reading = pipeline(stream, new FrameDemuxer((chunk) => stderr.add(chunk)), collectInto(stdout))
      // Registered before the start so the end cannot be missed: resolves once the engine has removed it (so
      // the volume is free again); a container already gone reads as an unknown exit code.
      const waiting = (container.wait({condition: 'removed'}) as Promise<{StatusCode?: number}>).catch(() => ({
        StatusCode: undefined,
      }))
      await container.start()
      const [{StatusCode}] = await Promise.all([waiting, reading])
      return {
        exitCode: StatusCode ?? -1,
        stdout: stdout.text(),
        stderr: stderr.text(),
        truncated: stdout.truncated || stderr.truncated,
      }
    } finally {
      await removeAndWait(container)
    }
  }

  async start(spec: ContainerSpec): Promise<string> {
    const container = await (
      await this.docker()
    ).createContainer({
      name: spec.name,
      Image: spec.image,
      Env: spec.env,
      ...(spec.cmd ? {Cmd: spec.cmd} : {}),
      ...(spec.user === undefined ? {} : {User: spec.user}),
      Labels: spec.labels,
      HostConfig: {
        NetworkMode: spec.network ?? 'none',
        ShmSize: spec.shmSizeBytes,
        Mounts: [
          ...Object.entries(spec.volumes).map(([source, target]) => ({
            Type: 'volume' as const,
            Source: source,
            Target: target,
          })),
          ...Object.entries(spec.readOnlyFiles).map(([source, target]) => ({
            Type: 'bind' as const,
            Source: source,
            Target: target,
            ReadOnly: true,
          })),
        ],
      },
    })
    debug('started %s (%s)', spec.name, container.id.slice(0, 12))
    try {
      await container.start()
    } catch (error) {
      await removeAndWait(container)
      throw error
    }
    return container.id
  }

  async remove(id: string): Promise<void> {
    await removeAndWait((await this.docker()).getContainer(id))
  }
}

function interruptedBy(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Interrupted('the process in the container was stopped')
}

/** The stream can close a moment before the engine records the exit: wait for it (never guess "1"). */
async function exitCodeOf(exec: Docker.Exec): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const info = await exec.inspect()
    if (!info.Running && info.ExitCode !== null && info.ExitCode !== undefined) return info.ExitCode
    await new Promise((resolve) => setTimeout(resolve, Math.min(20 * (attempt + 1), 200)))
  }
  throw new Error('the engine did not report the exit code of a finished process within 15 s')
}

function collectInto(target: BoundedText): Writable {
  const sink = new PassThrough()
  sink.on('data', (chunk: Buffer) => target.add(chunk))
  return sink
}

/** Removes a container that may never have started, or waits for the engine's own removal to finish. */
async function removeAndWait(container: Docker.Container): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      await container.remove({force: true, v: true})
      return
    } catch (error) {
      if (statusCode(error) === 404) return
    }
    await new Promise((resolve) => setTimeout(resolve, 100)) // removal in progress
  }
}

class DockerodeVolumes implements VolumeClient {
  constructor(private readonly docker: DockerClient) {}

  async inspect(name: string) {
    const info = await orUndefined((await this.docker()).getVolume(name).inspect())
    return info && volumeInfo(info)
  }

  async create(volume: VolumeCreate) {
    try {
      await (
        await this.docker()
      ).createVolume({
        Name: volume.name,
        Labels: volume.labels,
        Driver: volume.driver ?? 'local',
        DriverOpts: volume.driverOptions ?? {},
      })
    } catch (error) {
      throw optionsRefused(volume, error) ?? error
    }
    const info = await this.inspect(volume.name)
    if (!info) throw new Error(`the engine created volume ${volume.name} but cannot find it`)
    return info
  }

  async remove(name: string): Promise<void> {
    try {
      await (await this.docker()).getVolume(name).remove()
    } catch (error) {
      if (statusCode(error) !== 404) throw error
    }
  }

  async list(label: string) {
    const {Volumes} = await (await this.docker()).listVolumes({filters: {label: [label]}})
    return (Volumes ?? []).map(volumeInfo)
  }

  async sizeBytes(name: string): Promise<number> {
    const df = await whileDiskUsageBusy(async () => {
      const summary: unknown = await (await this.docker()).df()
      return dfIsSummaryOnly(summary) ? this.verboseDf() : summary
    })
    return volumeSizeFromDf(df, name) ?? -1
  }

  /** Engines from API 1.52 list volumes in the disk-usage report only when asked for the verbose form. */
  private async verboseDf(): Promise<unknown> {
    const docker = await this.docker()
    return new Promise((resolve, reject) => {
      docker.modem.dial(
        {
          path: '/system/df?',
          method: 'GET',
          options: {verbose: 'true', type: 'volume'},
          statusCodes: {200: true, 500: 'server error'},
        },
        (error: Error | null, data: unknown) => (error ? reject(error) : resolve(data)),
      )
    })
  }

  /**
   * A live subscription to the engine's events, not a `since` query: the engine keeps only the last few hundred
   * events, which a busy engine overwrites within seconds. (`create` proves nothing: the engine announces it for
   * an existing volume each time a container mounts it.)
   */
  async watch(name: string): Promise<VolumeWatch> {
    const stream = (await (
      await this.docker()
    ).getEvents({
      filters: {type: ['volume'], volume: [name]},
    })) as NodeJS.ReadableStream & {destroy?: () => void}
    let destroyEvents = 0
    let pending = ''
    stream.on('data', (chunk: Buffer | string) => {
      pending += chunk.toString()
      const lines = pending.split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) {
        if (!line.trim()) continue
        const event = JSON.parse(line) as {Action?: string; Actor?: {ID?: string}}
        if (event.Action === 'destroy' && event.Actor?.ID === name) destroyEvents++
      }
    })
    stream.on('error', () => {})
    return {
      get destroyEvents() {
        return destroyEvents
      },
      close: () => stream.destroy?.(),
    }
  }
}

function volumeInfo(info: Docker.VolumeInspectInfo) {
  return {
    name: info.Name,
    driver: info.Driver,
    mountpoint: info.Mountpoint,
    scope: info.Scope,
    createdAt: (info as {CreatedAt?: string}).CreatedAt ?? null,
    labels: info.Labels ?? {},
    options: info.Options ?? {},
  }
}

class DockerodeImages implements ImageClient {
  constructor(private readonly docker: DockerClient) {}

  async inspect(reference: string) {
    const info = await orUndefined((await this.docker()).getImage(reference).inspect())
    return info && {id: info.Id, sizeBytes: info.Size, labels: info.Config?.Labels ?? {}}
  }

  /**
   * The engine refuses (409) while a container uses the image or another tag points at it: that refusal is an
   * answer here, not an error.
   */
  async removeIfUnused(id: string): Promise<boolean> {
    try {
      await (await this.docker()).getImage(id).remove({force: false, noprune: false})
      return true
    } catch (error) {
      const status = statusCode(error)
      if (status === 404 || status === 409) return false
      throw error
    }
  }
}

const STACK_LABEL = 'com.docker.stack.namespace'

interface RawTask {
  ID: string
  ServiceID: string
  Slot?: number
  NodeID?: string
  DesiredState: string
  UpdatedAt?: string
  Status?: {State?: string; Message?: string; Err?: string; ContainerStatus?: {ContainerID?: string}}
}

/** Swarm objects through a manager's API (a worker answers 503 to these, which reads as "not a manager"). */
class DockerodeSwarm implements SwarmClient {
  constructor(private readonly docker: DockerClient) {}

  async state() {
    const info = (await (await this.docker()).info()) as {
      Swarm?: {LocalNodeState?: string; ControlAvailable?: boolean; NodeID?: string}
    }
    return {
      active: info.Swarm?.LocalNodeState === 'active',
      manager: Boolean(info.Swarm?.ControlAvailable),
      nodeId: info.Swarm?.NodeID ?? '',
    }
  }

  async nodes() {
    const nodes = (await (await this.docker()).listNodes()) as Array<{
      ID: string
      Description?: {Hostname?: string}
      Spec?: {Role?: string; Availability?: string; Labels?: Record<string, string>}
      Status?: {State?: string; Addr?: string}
    }>
    return nodes
      .map((n) => ({
        id: n.ID,
        hostname: n.Description?.Hostname ?? n.ID,
        role: n.Spec?.Role === 'manager' ? ('manager' as const) : ('worker' as const),
        availability: (n.Spec?.Availability ?? 'active') as 'active' | 'pause' | 'drain',
        state: n.Status?.State ?? 'unknown',
        addr: n.Status?.Addr ?? '',
        labels: n.Spec?.Labels ?? {},
      }))
      .sort((a, b) => a.hostname.localeCompare(b.hostname))
  }

  async updateNode(
    id: string,
    change: {labels?: Record<string, string | null>; availability?: 'active' | 'pause' | 'drain'},
  ) {
    // The update replaces the whole spec at the version read: a concurrent change makes it fail, never lost.
    const node = (await (await this.docker()).getNode(id).inspect()) as {
      Version: {Index: number}
      Spec: {Labels?: Record<string, string>; Availability?: string}
    }
    const labels = {...(node.Spec.Labels ?? {})}
    for (const [key, value] of Object.entries(change.labels ?? {})) {
      if (value === null) delete labels[key]
      else labels[key] = value
    }
    const spec = {...node.Spec, Labels: labels, Availability: change.availability ?? node.Spec.Availability}
    await (await this.docker()).getNode(id).update({_query: {version: node.Version.Index}, _body: spec})
  }

  async services(stack: string) {
    const services = await (await this.docker()).listServices({filters: {label: [`${STACK_LABEL}=${stack}`]}})
    return services
      .map((s) => ({
        id: s.ID,
        name: s.Spec?.Name ?? s.ID,
        replicas: s.Spec?.Mode?.Replicated?.Replicas,
        labels: s.Spec?.Labels ?? {},
      }))
      .sort((a, b) => a.name.localeCompare(b.name))
  }

  async tasks(stack: string): Promise<SwarmTask[]> {
    const services = await this.services(stack)
    if (services.length === 0) return []
    const names = new Map(services.map((s) => [s.id, s.name]))
    const tasks = (await (
      await this.docker()
    ).listTasks({filters: {service: services.map((s) => s.name)}})) as RawTask[]
    return tasks
      .map((t) => ({
        id: t.ID,
        serviceName: names.get(t.ServiceID) ?? t.ServiceID,
        slot: t.Slot,
        nodeId: t.NodeID ?? '',
        desiredState: t.DesiredState,
        state: t.Status?.State ?? 'unknown',
        message: t.Status?.Message ?? '',
        error: t.Status?.Err ?? '',
        containerId: t.Status?.ContainerStatus?.ContainerID || undefined,
        updatedAtMs: Date.parse(t.UpdatedAt ?? '') || 0,
      }))
      .sort(
        (a, b) =>
          a.serviceName.localeCompare(b.serviceName) || (a.slot ?? 0) - (b.slot ?? 0) || b.updatedAtMs - a.updatedAtMs,
      )
  }

  async secrets(label: string) {
    const secrets = await (await this.docker()).listSecrets({filters: {label: [label]}})
    return secrets.map((s) => ({id: s.ID, name: s.Spec?.Name ?? s.ID, labels: s.Spec?.Labels ?? {}}))
  }

  async removeSecret(id: string) {
    await (await this.docker()).getSecret(id).remove()
  }

  async networks(stack: string) {
    return (await (await this.docker()).listNetworks({filters: {label: [`${STACK_LABEL}=${stack}`]}})).map(
      (n) => n.Name,
    )
  }
}

/** Runs a disk-usage request again while the engine is busy with another one (up to a minute), else its answer. */
async function whileDiskUsageBusy<T>(request: () => Promise<T>): Promise<T> {
  let busy: unknown
  const outcome = await waitUntil(
    async () => {
      try {
        return ready(await request())
      } catch (error) {
        if (!isDiskUsageBusy(error)) return failed(error)
        busy = error
        return waiting(error)
      }
    },
    {timeoutMs: 60_000, intervalMs: 250, describe: 'the engine’s disk usage'},
  )
  if (outcome.state === 'ready') return outcome.value
  throw outcome.state === 'failed' ? outcome.last : busy
}

/** The engine's durations are in nanoseconds, 0 or absent meaning its default. */
function nanosToMs(nanos: number | undefined): number | undefined {
  return nanos !== undefined && Number.isFinite(nanos) && nanos > 0 ? Math.round(nanos / 1e6) : undefined
}
