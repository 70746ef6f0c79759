/**
 * The `docker` verbs of the swarm target, in one place: the local swarm's node containers (on the host
 * engine), commands inside a node (`docker exec NODE docker …`), images copied onto nodes (`docker save |
 * docker load`) or pushed to a registry, and `docker stack deploy/rm` against a manager. Each call names its
 * engine explicitly (DOCKER_HOST per call), so a DOCKER_HOST pointing at the swarm never sends a host verb to
 * node 1.
 */
import createDebug from 'debug'

import {run, runPipe, type RunOptions, type RunResult} from '../process/run.js'

const debug = createDebug('stackctl:swarm')
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

/** `docker` against one engine. */
export class DockerCli {
  constructor(readonly endpoint: string) {}

  run(args: readonly string[], options: DockerCliOptions & Pick<RunOptions, 'reject' | 'input' | 'env'> = {}) {
    debug('%s: docker %s', this.endpoint, args.join(' '))
    return run('docker', args, {
      env: {DOCKER_HOST: this.endpoint, ...options.env},
      cwd: options.cwd,
      signal: options.signal,
      reject: options.reject,
      input: options.input,
      shield: options.shield,
      buffer: options.buffer,
      timeoutMs: options.timeoutMs ?? 5 * MINUTE,
      onLine: options.onLine ? (line) => options.onLine!(line) : undefined,
    })
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
    const env = {DOCKER_HOST: this.endpoint}
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
