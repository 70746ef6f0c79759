/**
 * Every `docker` CLI process stackctl starts, in one place: Compose (its own arguments are built in
 * compose/compose-client.ts), images (build, import, pull, buildx), a process attached to the user's terminal
 * (`docker exec -it`), the local swarm's node containers, commands inside a node (`docker exec NODE docker …`),
 * images copied onto nodes or pushed to a registry, and `docker stack deploy/rm` against a manager. An engine
 * named by endpoint gets DOCKER_HOST per call, so a DOCKER_HOST pointing at the swarm never sends a host verb
 * to node 1; without one, the environment's engine (DOCKER_HOST or the docker context) is used, as `docker` would.
 */
import createDebug from 'debug'

import {ProcessFailed} from '../errors.js'
import {run, runPipe, type RunOptions, type RunResult} from '../process/run.js'
import {dockerExecArgs} from './docker-exec.js'

export type {RunOptions, RunResult} from '../process/run.js'

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

  run(
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
  compose(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
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

  /** `docker …` run by the engine inside a node container. */
  inNode(node: string, args: readonly string[], options: DockerCliOptions & {reject?: boolean} = {}) {
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

export function stackDeploy(manager: DockerCli, options: StackDeployOptions): Promise<RunResult> {
  return manager.run(stackDeployArgs(options), {...options, timeoutMs: options.timeoutMs ?? 5 * MINUTE})
}

export function stackRm(manager: DockerCli, stack: string, options: DockerCliOptions = {}): Promise<RunResult> {
  return manager.run(['stack', 'rm', stack], options)
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
