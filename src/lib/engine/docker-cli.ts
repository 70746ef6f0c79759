/**
 * Every `docker` CLI process stackctl starts, in one place: Compose (its own arguments are built in
 * compose-client.ts), images (build, import, pull, buildx), a process attached to the user's terminal
 * (`docker exec -it`), the local swarm's node containers, commands inside a node (`docker exec NODE docker …`),
 * images copied onto nodes or pushed to a registry, and `docker stack deploy/rm` against a manager. An engine
 * named by endpoint gets DOCKER_HOST per call, so a DOCKER_HOST pointing at the swarm never sends a host verb
 * to node 1; without one, the environment's engine (DOCKER_HOST or the docker context) is used, as `docker` would.
 */
import createDebug from 'debug'

import {ProcessFailed} from '../errors.js'
import {run, runPipe, type RunOptions, type RunResult} from './process/run.js'
import {dockerExecArgs} from './docker-exec.js'

export type {RunOptions, RunResult} from './process/run.js'

const debug = createDebug('stackctl:docker')
const MINUTE = 60_000

export interface DockerCliOptions {
  signal?: AbortSignal
  onLine?: (line: string) => void
  timeoutMs?: number
  cwd?: string
  /** Out of the terminal's process group: a Ctrl-C does not stop a step that must finish. */
  shield?: boolean
  /** Off for endless output read through onLine (logs --follow). */
  buffer?: boolean
}

/** `docker` against one engine: the one at `endpoint`, or the environment's. */
export class DockerCli {
  constructor(readonly endpoint?: string) {}

  private get env(): Record<string, string> {
    return this.endpoint ? {DOCKER_HOST: this.endpoint} : {}
  }

  /** Protected: the one place a `docker` process starts, so a test double can record and answer instead. */
  protected run(
    args: readonly string[],
    options: DockerCliOptions & Pick<RunOptions, 'reject' | 'input' | 'env' | 'inherit'> = {},
  ) {
    debug('%s: docker %s', this.endpoint ?? 'environment', args.join(' '))
    return run('docker', args, {
      env: {...this.env, ...options.env},
      cwd: options.cwd,
      signal: options.signal,
      reject: options.reject,
      input: options.input,
      shield: options.shield,
      inherit: options.inherit,
      buffer: options.buffer,
      timeoutMs: options.inherit ? undefined : (options.timeoutMs ?? 5 * MINUTE),
      onLine: options.onLine ? (line) => options.onLine!(line) : undefined,
    })
  }

  /**
   * `docker compose …` with Compose's own arguments (they start with `compose`; built and unit-tested in
   * compose-client.ts, which owns Compose's vocabulary). Runs with the caller's options unchanged, as Compose
   * always did: its failures are translated there.
   */
  async compose(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    if (args[0] !== 'compose') throw new Error(`not a Compose command: docker ${args.join(' ')}`)
    return run('docker', args, {...options, env: {...this.env, ...options.env}})
  }

  /** `docker compose version --short`, for the Compose v2 check (never throws on a non-zero exit). */
  composeVersion(): Promise<RunResult> {
    return this.compose(['compose', 'version', '--short'], {reject: false})
  }

  /** The retired standalone `docker-compose` (v1), only to name it when Compose v2 is missing. */
  legacyComposeVersion(): Promise<RunResult> {
    return run('docker-compose', ['version', '--short'], {reject: false, env: this.env})
  }

  /** Whether the docker CLI has the buildx plugin (without it BuildKit builds fail; see images' buildEnv). */
  async buildxAvailable(): Promise<boolean> {
    return (await this.run(['buildx', 'version'], {reject: false, timeoutMs: 15_000})).exitCode === 0
  }

  /** `docker pull --quiet`: resolves whether the image could be pulled (false when the registry cannot be reached). */
  async pull(reference: string, timeoutMs = 120_000): Promise<boolean> {
    return (await this.run(pullArgs(reference), {reject: false, timeoutMs})).exitCode === 0
  }

  /**
   * `docker build` with the arguments images/image-specs.ts builds (they start with `build`). The legacy
   * builder prints the failing step's output on stdout and only the verdict on stderr: a failure carries both.
   */
  async build(args: readonly string[], options: DockerCliOptions & {env?: Record<string, string>} = {}): Promise<void> {
    if (args[0] !== 'build') throw new Error(`not a build: docker ${args.join(' ')}`)
    const result = await this.run(args, {...options, reject: false, timeoutMs: options.timeoutMs ?? 10 * MINUTE})
    if (result.exitCode !== 0) {
      throw new ProcessFailed(`docker ${args.join(' ')}`, result.exitCode, `${result.stdout}\n${result.stderr}`)
    }
  }

  /**
   * `tar -c ROOTFS | docker import …` without a shell: the tar stream (gigabytes) is never buffered. The
   * arguments of both sides are built in images/image-specs.ts (the import's start with `import`).
   */
  async importTar(
    tarArgs: readonly string[],
    importArgs: readonly string[],
    options: DockerCliOptions = {},
  ): Promise<void> {
    if (importArgs[0] !== 'import') throw new Error(`not an import: docker ${importArgs.join(' ')}`)
    await runPipe(
      {command: 'tar', args: tarArgs},
      {command: 'docker', args: importArgs},
      {env: this.env, signal: options.signal, timeoutMs: options.timeoutMs ?? 10 * MINUTE},
    )
  }

  /**
   * A process in a container, attached to the user's terminal or pipes (psql, exec): the docker CLI relays
   * stdin, stdout, stderr, a terminal's size and signals. Resolves with the process's exit code.
   */
  async execInteractive(containerId: string, command: readonly string[], tty: boolean): Promise<number> {
    const result = await this.run(dockerExecArgs(containerId, command, tty), {reject: false, inherit: true})
    return result.exitCode
  }

  // The local swarm's node containers, on the host engine. The create/run arguments are built (pure,
  // unit-tested) in targets/swarm/local-spec.ts; each method checks it runs the verb it names.

  /** `docker network create …` (local-spec's networkCreateArgs, subnetProbeArgs). */
  async createNetwork(args: readonly string[], options: DockerCliOptions = {}): Promise<void> {
    await this.run(verb(args, 'network', 'create'), options)
  }

  /** `docker volume create …` (local-spec's volumeCreateArgs). */
  async createVolume(args: readonly string[], options: DockerCliOptions = {}): Promise<void> {
    await this.run(verb(args, 'volume', 'create'), options)
  }

  /** `docker run …` (local-spec's nodeRunArgs). */
  async runContainer(args: readonly string[], options: DockerCliOptions = {}): Promise<void> {
    await this.run(verb(args, 'run'), options)
  }

  /** The IPv4 and IPv6 subnets Docker gave a network. */
  async networkSubnets(name: string): Promise<string[]> {
    const {stdout} = await this.run([
      'network',
      'inspect',
      '--format',
      '{{range .IPAM.Config}}{{.Subnet}} {{end}}',
      name,
    ])
    return stdout.split(/\s+/).filter(Boolean)
  }

  /** The names of the networks carrying a label (`key=value`). */
  async networksLabelled(label: string): Promise<string[]> {
    const {stdout} = await this.run(['network', 'ls', '--filter', `label=${label}`, '--format', '{{.Name}}'])
    return stdout.split('\n').filter(Boolean)
  }

  /** Removal finishes even on Ctrl-C (shielded): a half-removed swarm helps nobody. */
  async removeNetwork(name: string, options: {reject?: boolean} = {}): Promise<void> {
    await this.run(['network', 'rm', name], {reject: options.reject, shield: true})
  }

  async removeVolume(name: string): Promise<void> {
    await this.run(['volume', 'rm', name], {shield: true})
  }

  /** `docker rm --force --volumes`: the container and its anonymous volumes (shielded). */
  async removeContainer(name: string): Promise<void> {
    await this.run(['rm', '--force', '--volumes', name], {shield: true})
  }

  async start(name: string, options: DockerCliOptions = {}): Promise<void> {
    await this.run(['start', name], options)
  }

  /** Stops a container, finishing even on Ctrl-C; a failure is not an error (it is being undone). */
  async stop(name: string): Promise<void> {
    await this.run(['stop', name], {reject: false, shield: true})
  }

  /** The last lines a container printed (for a message), or nothing when they cannot be read. */
  async logsTail(name: string, lines: number): Promise<string> {
    return (await this.run(['logs', '--tail', String(lines), name], {reject: false})).stdout
  }

  /** `docker build --build-arg … --tag TAG CONTEXT`; the caller inspects the result. */
  buildImage(options: {
    tag: string
    context: string
    buildArgs: Record<string, string>
    env?: Record<string, string>
    signal?: AbortSignal
  }): Promise<RunResult> {
    const buildArgs = Object.entries(options.buildArgs).flatMap(([key, value]) => ['--build-arg', `${key}=${value}`])
    return this.run(['build', ...buildArgs, '--tag', options.tag, options.context], {
      env: options.env,
      signal: options.signal,
      reject: false,
    })
  }

  /** `docker stack deploy` against this (manager) engine. */
  stackDeploy(options: StackDeployOptions): Promise<RunResult> {
    return this.run(stackDeployArgs(options), {...options, timeoutMs: options.timeoutMs ?? 5 * MINUTE})
  }

  stackRm(stack: string, options: DockerCliOptions = {}): Promise<RunResult> {
    return this.run(['stack', 'rm', stack], options)
  }

  /** `docker service logs` of one service, line by line through onLine. */
  serviceLogs(service: string, options: ServiceLogOptions, run: DockerCliOptions = {}): Promise<RunResult> {
    return this.run(serviceLogsArgs(service, options), run)
  }

  // Verbs of the dockerd inside a node container (`docker exec NODE docker …`).

  /** Whether the node's dockerd answers. */
  async nodeAnswers(node: string, signal?: AbortSignal): Promise<boolean> {
    return (await this.inNode(node, ['info', '--format', '{{.ServerVersion}}'], {reject: false, signal})).exitCode === 0
  }

  async swarmInit(node: string, signal?: AbortSignal): Promise<void> {
    await this.inNode(node, ['swarm', 'init', '--advertise-addr', 'eth0'], {signal})
  }

  async swarmWorkerToken(node: string, signal?: AbortSignal): Promise<string> {
    return (await this.inNode(node, ['swarm', 'join-token', '--quiet', 'worker'], {signal})).stdout.trim()
  }

  async swarmJoin(node: string, token: string, manager: string, signal?: AbortSignal): Promise<void> {
    await this.inNode(node, ['swarm', 'join', '--token', token, '--advertise-addr', 'eth0', manager], {signal})
  }

  async nodeVolumeExists(node: string, volume: string): Promise<boolean> {
    return (await this.inNode(node, ['volume', 'inspect', volume], {reject: false})).exitCode === 0
  }

  /** The volumes carrying a label in a node, or undefined when its dockerd cannot be asked. */
  async nodeVolumesLabelled(node: string, label: string): Promise<string[] | undefined> {
    const {stdout, exitCode} = await this.inNode(node, ['volume', 'ls', '--quiet', '--filter', `label=${label}`], {
      reject: false,
    })
    return exitCode === 0 ? stdout.split('\n').filter(Boolean) : undefined
  }

  /** The id of an image in a node, or undefined when it has none by that name. */
  async nodeImageId(node: string, image: string): Promise<string | undefined> {
    const {stdout, exitCode} = await this.inNode(node, ['image', 'inspect', '--format', '{{.Id}}', image], {
      reject: false,
    })
    return exitCode === 0 ? stdout.trim() : undefined
  }

  /** The ids of the containers (any state) in a node that use a volume. */
  async nodeContainersUsing(node: string, volume: string): Promise<string[]> {
    const {stdout} = await this.inNode(node, ['ps', '--all', '--quiet', '--filter', `volume=${volume}`], {
      reject: false,
    })
    return stdout.split('\n').filter(Boolean)
  }

  /** Removes a volume in a node (shielded); the caller inspects the result (a volume already gone is fine). */
  nodeRemoveVolume(node: string, volume: string): Promise<RunResult> {
    return this.inNode(node, ['volume', 'rm', volume], {reject: false, shield: true})
  }

  /** The labels of a volume in a node, or undefined when it has no such volume. */
  async nodeVolumeLabels(node: string, volume: string): Promise<Record<string, string> | undefined> {
    const {stdout, exitCode} = await this.inNode(node, ['volume', 'inspect', '--format', '{{json .Labels}}', volume], {
      reject: false,
    })
    return exitCode === 0 ? ((JSON.parse(stdout.trim() || 'null') as Record<string, string> | null) ?? {}) : undefined
  }

  /** Creates a local volume in a node with these labels (shielded: a Ctrl-C does not leave it half made). */
  async nodeCreateVolume(node: string, volume: string, labels: Record<string, string>): Promise<void> {
    const args = ['volume', 'create', ...Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]), volume]
    await this.inNode(node, args, {shield: true})
  }

  /**
   * A throwaway container in a node, without a network, removed afterwards (shielded: a step that copies data
   * runs to its end); the caller inspects the result.
   */
  nodeRunOnce(node: string, spec: NodeRunSpec): Promise<RunResult> {
    const mounts = spec.mounts.flatMap((m) => [
      '--mount',
      `type=volume,source=${m.volume},target=${m.target}${m.readOnly ? ',readonly' : ''}`,
    ])
    const args = ['run', '--rm', '--network', 'none', ...mounts, '--entrypoint', spec.entrypoint, spec.image]
    return this.inNode(node, [...args, ...spec.args], {reject: false, shield: true, timeoutMs: spec.timeoutMs})
  }

  /** `docker service scale NAME=N` on this (manager) engine, waiting until the tasks converge. */
  async serviceScale(service: string, replicas: number, options: DockerCliOptions = {}): Promise<void> {
    await this.run(['service', 'scale', '--detach=false', `${service}=${replicas}`], {shield: true, ...options})
  }

  /** SIGKILL of a container in a node: the disruption verify-persistence causes. */
  async nodeKill(node: string, containerId: string): Promise<void> {
    await this.inNode(node, ['kill', '--signal', 'KILL', containerId])
  }

  /** A command in a container inside a node, as `user` when given (its stdout; rejects on a non-zero exit). */
  async nodeExec(
    node: string,
    containerId: string,
    command: readonly string[],
    signal?: AbortSignal,
    user?: string,
  ): Promise<string> {
    const as = user === undefined ? [] : ['--user', user]
    return (await this.inNode(node, ['exec', ...as, containerId, ...command], {signal})).stdout
  }

  /** SIGKILL of a whole node container (a crashed machine), and its start again (the machine back). */
  async killContainer(name: string): Promise<void> {
    await this.run(['kill', '--signal', 'KILL', name])
  }

  async startContainer(name: string): Promise<void> {
    await this.run(['start', name])
  }

  /** Freezes every process of the container (the cgroup freezer): a machine that hangs, not one that dies. */
  async pauseContainer(name: string): Promise<void> {
    await this.run(['pause', name])
  }

  async unpauseContainer(name: string): Promise<void> {
    await this.run(['unpause', name])
  }

  /** `docker …` run by the engine inside a node container. */
  private inNode(node: string, args: readonly string[], options: DockerCliOptions & {reject?: boolean} = {}) {
    return this.run(['exec', node, 'docker', ...args], options)
  }

  async containerAddress(name: string): Promise<string> {
    const {stdout} = await this.run([
      'inspect',
      '--format',
      '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}',
      name,
    ])
    return stdout.trim().split(/\s+/)[0] ?? ''
  }

  /** Streams an image from this engine into a node's engine; never buffered in memory or on disk. */
  async loadIntoNode(image: string, node: string, options: DockerCliOptions = {}): Promise<void> {
    const env = this.env
    await runPipe(
      {command: 'docker', args: ['save', image]},
      {command: 'docker', args: ['exec', '-i', node, 'docker', 'load', '--quiet']},
      {env, signal: options.signal, timeoutMs: options.timeoutMs ?? 15 * MINUTE},
    )
  }

  /** Tags, pushes and untags: the registry then holds the image under its own name. */
  async pushTo(image: string, registryRef: string, options: DockerCliOptions = {}): Promise<void> {
    await this.run(['tag', image, registryRef], options)
    try {
      await this.run(['push', '--quiet', registryRef], {...options, timeoutMs: 15 * MINUTE})
    } finally {
      await this.run(['rmi', registryRef], {reject: false})
    }
  }
}

export interface NodeRunSpec {
  image: string
  entrypoint: string
  args: string[]
  mounts: Array<{volume: string; target: string; readOnly?: boolean}>
  timeoutMs?: number
}

export interface StackDeployOptions extends DockerCliOptions {
  stack: string
  /** The stack file first, then any override files. */
  files: string[]
  /** `never` for images loaded onto each node (they have no registry digest), `always` for a registry. */
  resolveImage: 'always' | 'never'
}

export function stackDeployArgs(options: StackDeployOptions): string[] {
  return [
    'stack',
    'deploy',
    // Return at once (the CLI's own default, said out loud): the tasks are then followed through the API.
    '--detach=true',
    '--prune',
    '--resolve-image',
    options.resolveImage,
    ...options.files.flatMap((file) => ['--compose-file', file]),
    options.stack,
  ]
}

/** The arguments, checked to start with the verb a method names (they are built elsewhere). */
function verb(args: readonly string[], ...words: string[]): readonly string[] {
  if (words.some((word, i) => args[i] !== word)) throw new Error(`not docker ${words.join(' ')}: ${args.join(' ')}`)
  return args
}

export interface ServiceLogOptions {
  follow?: boolean
  tail?: number
  since?: string
  timestamps?: boolean
}

export function serviceLogsArgs(service: string, options: ServiceLogOptions): string[] {
  return [
    'service',
    'logs',
    '--no-trunc',
    ...(options.follow ? ['--follow'] : []),
    ...(options.tail === undefined ? [] : ['--tail', String(options.tail)]),
    ...(options.since ? ['--since', options.since] : []),
    ...(options.timestamps ? ['--timestamps'] : []),
    service,
  ]
}

/** `docker pull --quiet REFERENCE`: quiet, so a pull is one line of output, not a progress stream. */
export function pullArgs(reference: string): string[] {
  return ['pull', '--quiet', reference]
}
