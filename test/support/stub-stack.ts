/**
 * In-memory stand-ins for the engine and Compose, for unit tests of the stack operations' decisions,
 * messages and exit codes. They record what was asked of them; nothing touches a real engine.
 */
import {readFileSync} from 'node:fs'
import path from 'node:path'

import type {Compose, ComposeTarget} from '../../src/lib/engine/compose-client.js'
import {LABELS} from '../../src/lib/model/config/labels.js'
import type {
  ContainerDetails,
  ContainerSummary,
  Engine,
  EngineDescription,
  ExecResult,
  ImageInfo,
  VolumeInfo,
} from '../../src/lib/engine/engine.js'
import {EngineUnreachable} from '../../src/lib/errors.js'
import {StubSwarm} from './stub-swarm.js'

export interface StubContainer {
  name: string
  service: string
  state?: string
  health?: ContainerSummary['health']
  labels?: Record<string, string>
  project?: string
  ports?: ContainerSummary['ports']
  volumes?: string[]
  /** The host ports it is configured to publish (default: those of `ports`); a restarting one lists none. */
  configuredHostPorts?: number[]
}

/** `key` or `key=value`, as the engine's label filter reads it. */
function hasLabel(labels: Record<string, string>, filter: string): boolean {
  const [key, ...value] = filter.split('=')
  return key in labels && (value.length === 0 || labels[key] === value.join('='))
}

export class StubEngine implements Engine {
  readonly endpoint = 'unix:///stub/docker.sock'
  reachable = true
  /** What describe() says: rootful Docker unless a test makes it Podman or rootless. */
  description: EngineDescription = {
    kind: 'docker',
    version: '20.10.24',
    apiVersion: '1.41',
    rootDir: undefined,
    rootless: false,
    cgroupVersion: 1,
  }
  containersList: ContainerSummary[] = []
  private readonly configuredPorts = new Map<string, number[]>()
  volumesByName = new Map<string, VolumeInfo>()
  imagesByRef = new Map<string, ImageInfo>()
  /** Answers to exec, by the first word of the command (psql, pg_dump, …). */
  execAnswers = new Map<string, ExecResult>()
  readonly calls: string[] = []

  addContainer(c: StubContainer): this {
    const project = c.project ?? c.labels?.['com.docker.compose.project'] ?? 'demo'
    this.containersList.push({
      id: `id-${c.name}`,
      name: c.name,
      project,
      service: c.service,
      state: c.state ?? 'running',
      health: c.health ?? (c.state && c.state !== 'running' ? 'none' : 'healthy'),
      labels: {'com.docker.compose.project': project, 'com.docker.compose.service': c.service, ...c.labels},
      image: 'stackctl/postgres:17',
      imageId: 'sha256:1',
      ports: c.ports ?? [],
      volumes: c.volumes,
    })
    const published = (c.ports ?? []).flatMap((p) => (p.hostPort ? [p.hostPort] : []))
    this.configuredPorts.set(`id-${c.name}`, c.configuredHostPorts ?? published)
    return this
  }

  addVolume(name: string, labels: Record<string, string> = {}): this {
    this.volumesByName.set(name, {
      name,
      driver: 'local',
      mountpoint: `/stub/volumes/${name}/_data`,
      scope: 'local',
      createdAt: '2026-01-01T00:00:00Z',
      labels,
      options: {},
    })
    return this
  }

  addImage(reference: string): this {
    this.imagesByRef.set(reference, {id: `sha256:${reference}`, sizeBytes: 1, labels: {}})
    return this
  }

  async ping(): Promise<void> {
    this.calls.push('ping')
    if (!this.reachable) throw new EngineUnreachable(this.endpoint)
  }

  async describe(): Promise<EngineDescription> {
    this.calls.push('describe')
    if (!this.reachable) throw new EngineUnreachable(this.endpoint)
    return this.description
  }

  readonly containers = {
    list: async (filter: {
      project?: string
      service?: string
      runningOnly?: boolean
      publishes?: number
      label?: string
    }) =>
      this.containersList.filter(
        (c) =>
          (!filter.project || c.project === filter.project) &&
          (!filter.label || hasLabel(c.labels, filter.label)) &&
          (!filter.service || c.service === filter.service) &&
          (!filter.runningOnly || c.state === 'running') &&
          (filter.publishes === undefined || c.ports.some((p) => p.hostPort === filter.publishes)),
      ),
    inspect: async (id: string): Promise<ContainerDetails | undefined> => {
      const c = this.containersList.find((x) => x.id === id)
      return (
        c && {
          id,
          name: c.name,
          running: c.state === 'running',
          exitCode: c.state === 'running' ? 0 : 1,
          finishedAtMs: undefined,
          startedAtMs: undefined,
          error: '',
          health: {status: c.health, lastOutput: `${c.service} health output`},
          mounts: [],
          tmpfs: [],
          restartCount: 0,
          configuredHostPorts: this.configuredPorts.get(id) ?? [],
        }
      )
    },
    kill: async (id: string, signal: string) => {
      this.calls.push(`kill ${id} ${signal}`)
    },
    stop: async (id: string) => {
      this.calls.push(`stop container ${id}`)
      const c = this.containersList.find((x) => x.id === id)
      if (c) Object.assign(c, {state: 'exited', health: 'none'})
    },
    logTail: async (id: string) => `last log line of ${id}`,
    exec: async (id: string, cmd: string[], options?: {user?: string}): Promise<ExecResult> => {
      this.calls.push(`exec ${id} ${cmd[0]}${options?.user ? ` as ${options.user}` : ''}`)
      return this.execAnswers.get(cmd[0]) ?? {exitCode: 1, stdout: '', stderr: 'no answer', truncated: false}
    },
    execDetached: async (id: string, cmd: string[]) => {
      this.calls.push(`exec detached ${id} ${cmd[0]}`)
    },
    runOneShot: async (): Promise<ExecResult> => ({exitCode: 2, stdout: '', stderr: '', truncated: false}),
    start: async (spec: {name: string}) => {
      this.calls.push(`start ${spec.name}`)
      return spec.name
    },
    remove: async (id: string) => {
      this.calls.push(`remove container ${id}`)
      this.containersList = this.containersList.filter((c) => c.id !== id)
    },
  }

  readonly volumes = {
    inspect: async (name: string) => this.volumesByName.get(name),
    list: async (label: string) => [...this.volumesByName.values()].filter((v) => label.split('=')[0] in v.labels),
    sizeBytes: async () => -1,
    watch: async () => ({destroyEvents: 0, close: () => {}}),
    create: async (volume: {name: string; labels: Record<string, string>}) => {
      this.calls.push(`create volume ${volume.name}`)
      const info = {
        name: volume.name,
        driver: 'local',
        mountpoint: '',
        scope: 'local',
        createdAt: null,
        labels: volume.labels,
        options: {},
      }
      this.volumesByName.set(volume.name, info)
      return info
    },
    remove: async (name: string) => {
      this.calls.push(`remove volume ${name}`)
      this.volumesByName.delete(name)
    },
  }

  readonly images = {
    inspect: async (reference: string) => this.imagesByRef.get(reference),
    removeIfUnused: async () => false,
  }

  /** Network names by project, as Compose would have created them. */
  readonly networksByProject = new Map<string, string[]>()
  readonly networks = {
    listByProject: async (project: string) => [...(this.networksByProject.get(project) ?? [])],
    remove: async (name: string) => {
      this.calls.push(`remove network ${name}`)
      for (const [project, names] of this.networksByProject) {
        this.networksByProject.set(
          project,
          names.filter((n) => n !== name),
        )
      }
    },
  }
  readonly swarm = new StubSwarm()
}

/**
 * Compose that records its calls; `upError` makes `up` fail once with that error. Given an engine, `up` starts
 * the services there as healthy containers (those not there yet), as the real one would.
 */
export class StubCompose implements Compose {
  readonly calls: Array<{verb: string; options?: unknown}> = []
  upError: Error | undefined
  version = '2.26.1'

  constructor(
    readonly target: ComposeTarget,
    private readonly engine?: StubEngine,
  ) {}

  async assertV2(): Promise<string> {
    return this.version
  }

  async up(options: unknown): Promise<void> {
    this.calls.push({verb: 'up', options})
    const error = this.upError
    this.upError = undefined
    if (error) throw error
    const services = (options as {services?: string[]}).services ?? ['db', 'app']
    for (const service of services) {
      const running = this.engine?.containersList.some(
        (c) => c.project === this.target.project && c.service === service,
      )
      if (this.engine && !running) {
        // Labelled as the rendered file labels them: the stack's id comes from the stack.json up just wrote.
        const {stackId} = JSON.parse(readFileSync(path.join(this.target.projectDirectory, 'stack.json'), 'utf8'))
        this.engine.addContainer({
          name: `${this.target.project}-${service}-1`,
          service,
          project: this.target.project,
          labels: {
            [LABELS.stackId]: stackId,
            [LABELS.project]: this.target.project,
            [LABELS.dir]: this.target.projectDirectory,
          },
        })
      }
    }
  }

  async down(options?: unknown): Promise<void> {
    this.calls.push({verb: 'down', options})
  }

  async stop(services: readonly string[]): Promise<void> {
    this.calls.push({verb: 'stop', options: services})
  }

  /** `start` sets the project's containers running and healthy, as the real one would once they are. */
  async start(services: readonly string[]): Promise<void> {
    this.calls.push({verb: 'start', options: services})
    for (const c of this.engine?.containersList ?? []) {
      if (c.project === this.target.project) Object.assign(c, {state: 'running', health: 'healthy'})
    }
  }

  async logs(): Promise<void> {}

  /** What `config --hash` answers. */
  hashes = new Map<string, string>()

  async configHashes(): Promise<Map<string, string>> {
    this.calls.push({verb: 'config-hash'})
    return new Map(this.hashes)
  }

  async validate(): Promise<void> {}

  async mergedConfig(renderedText: string): Promise<string> {
    this.calls.push({verb: 'config'})
    return renderedText
  }

  byLabelsOnly(): Compose {
    return this
  }
}
