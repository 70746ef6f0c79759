/**
 * Docker Compose v2, driven through the process runner. Argument arrays are built by pure functions
 * (unit-tested); this class only runs them and turns failures into typed errors.
 */
import createDebug from 'debug'

import {ComposeNotFound, CommandNotFound, ProcessFailed} from '../errors.js'
import {DockerCli, type RunOptions} from './docker-cli.js'

const debug = createDebug('stackctl:compose')

export interface ComposeTarget {
  project: string
  composeFile: string
  projectDirectory: string
  /** Extra files layered over the rendered one (the user's docker-compose.override.yml), in order. */
  overrideFiles?: string[]
}

export interface UpOptions {
  build?: boolean
  /** Let Compose wait for health (--wait); stackctl's `up` waits itself (wait-healthy.ts) and passes false. */
  wait?: boolean
  waitTimeoutSeconds: number
  forceRecreate?: boolean
  services?: string[]
  /**
   * Build with the engine's classic builder (DOCKER_BUILDKIT=0): Podman has no BuildKit of its own, and
   * Compose's buildx would start a `moby/buildkit` container from a registry this machine may not reach.
   */
  classicBuilder?: boolean
}

/** Without a compose file (the stack directory is gone), Compose still finds the project by its labels. */
export function baseArgs(target: ComposeTarget): string[] {
  if (!target.composeFile) return ['compose', '--project-name', target.project]
  const files = [target.composeFile, ...(target.overrideFiles ?? [])].flatMap((file) => ['--file', file])
  return ['compose', '--project-name', target.project, '--project-directory', target.projectDirectory, ...files]
}

export function upArgs(target: ComposeTarget, options: UpOptions): string[] {
  return [
    ...baseArgs(target),
    'up',
    '--detach',
    ...(options.wait === false ? [] : ['--wait', '--wait-timeout', String(Math.ceil(options.waitTimeoutSeconds))]),
    '--remove-orphans',
    ...(options.build ? ['--build'] : []),
    ...(options.forceRecreate ? ['--force-recreate'] : []),
    ...(options.services ?? []),
  ]
}

export function downArgs(target: ComposeTarget, options: {volumes?: boolean; timeoutSeconds?: number} = {}): string[] {
  return [
    ...baseArgs(target),
    'down',
    '--remove-orphans',
    ...(options.volumes ? ['--volumes'] : []),
    ...(options.timeoutSeconds === undefined ? [] : ['--timeout', String(options.timeoutSeconds)]),
  ]
}

/** `docker compose stop SERVICE…`: stops the services' containers and keeps them (and the data) as they are. */
export function stopArgs(target: ComposeTarget, services: readonly string[]): string[] {
  return [...baseArgs(target), 'stop', ...services]
}

/**
 * `docker compose start SERVICE…`: starts the services' existing containers again, dependencies first (and
 * waiting for their health where depends_on asks for it); it never creates a container.
 */
export function startArgs(target: ComposeTarget, services: readonly string[]): string[] {
  return [...baseArgs(target), 'start', ...services]
}

export interface LogsOptions {
  service?: string
  follow?: boolean
  tail?: number
  /** A time Compose understands: 2026-01-02T15:04:05Z, or relative like 10m. */
  since?: string
  timestamps?: boolean
}

export function logsArgs(target: ComposeTarget, options: LogsOptions): string[] {
  return [
    ...baseArgs(target),
    'logs',
    '--no-color',
    ...(options.follow ? ['--follow'] : []),
    ...(options.tail === undefined ? [] : ['--tail', String(options.tail)]),
    ...(options.since === undefined ? [] : ['--since', options.since]),
    ...(options.timestamps ? ['--timestamps'] : []),
    ...(options.service ? [options.service] : []),
  ]
}

/** Compose's progress output can carry terminal control sequences (ESC[2K, cursor moves): keep the text. */
export function plainLine(line: string): string {
  // eslint-disable-next-line no-control-regex
  return line.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '')
}

/**
 * `config` of a file given on stdin with the override files layered over it: what Compose would run, for a
 * rendered file that is not written (render --stdout).
 */
export function mergedConfigArgs(target: ComposeTarget): string[] {
  const overrides = (target.overrideFiles ?? []).flatMap((file) => ['--file', file])
  return [
    'compose',
    '--project-name',
    target.project,
    '--project-directory',
    target.projectDirectory,
    '--file',
    '-',
    ...overrides,
    'config',
  ]
}

/** `config --hash '*'`: Compose's hash of each service's configuration, the value it labels containers with. */
export function configHashArgs(target: ComposeTarget): string[] {
  return [...baseArgs(target), 'config', '--hash', '*']
}

/** Parses `config --hash` output, one `service hash` pair per line. */
export function parseConfigHashes(output: string): Map<string, string> {
  const hashes = new Map<string, string>()
  for (const line of output.split('\n')) {
    const [service, hash, ...rest] = line.trim().split(/\s+/)
    if (service && hash && rest.length === 0) hashes.set(service, hash)
  }
  return hashes
}

/** Parses `docker compose version --short` output ("2.26.1", "v2.29.0-desktop.1") into its major version. */
export function composeMajor(versionOutput: string): number | undefined {
  const match = /^v?(\d+)\.\d+/.exec(versionOutput.trim())
  return match ? Number(match[1]) : undefined
}

let verifiedVersion: string | undefined

/** Makes sure Compose v2 is available; names what was found otherwise (e.g. the retired v1 `docker-compose`). */
export async function assertComposeV2(docker: DockerCli): Promise<string> {
  if (verifiedVersion) return verifiedVersion
  const result = await docker.composeVersion()
  const major = result.exitCode === 0 ? composeMajor(result.stdout) : undefined
  if (major !== undefined && major >= 2) {
    verifiedVersion = result.stdout.trim()
    debug('compose %s', verifiedVersion)
    return verifiedVersion
  }
  if (major !== undefined) throw new ComposeNotFound(`Compose ${result.stdout.trim()}`)
  let legacy: string | undefined
  try {
    const v1 = await docker.legacyComposeVersion()
    if (v1.exitCode === 0) legacy = `the retired docker-compose ${v1.stdout.trim()} (v1)`
  } catch (error) {
    if (!(error instanceof CommandNotFound)) throw error
  }
  throw new ComposeNotFound(legacy)
}

/** What the stack operations need from Compose; ComposeClient runs it, unit tests hand in a stub. */
export interface Compose {
  readonly target: ComposeTarget
  /** Resolves with the version when Compose v2 is there; ComposeNotFound otherwise. */
  assertV2(): Promise<string>
  up(options: UpOptions, runOptions?: RunOptions): Promise<void>
  down(options?: {volumes?: boolean; timeoutSeconds?: number}, runOptions?: RunOptions): Promise<void>
  stop(services: readonly string[], runOptions?: RunOptions): Promise<void>
  start(services: readonly string[], runOptions?: RunOptions): Promise<void>
  logs(options: LogsOptions, runOptions?: RunOptions): Promise<unknown>
  configHashes(): Promise<Map<string, string>>
  validate(): Promise<void>
  /** The rendered text with the user's override files applied, as Compose reads them (`config`). */
  mergedConfig(renderedText: string): Promise<string>
  /** The same project without its files (the stack directory is gone): Compose finds it by its labels. */
  byLabelsOnly(): Compose
}

export class ComposeClient implements Compose {
  /** `docker` runs Compose's process (the engine layer starts every docker process). */
  constructor(
    readonly target: ComposeTarget,
    private readonly docker: DockerCli,
  ) {}

  assertV2(): Promise<string> {
    return assertComposeV2(this.docker)
  }

  byLabelsOnly(): Compose {
    return new ComposeClient(
      {
        project: this.target.project,
        composeFile: '',
        projectDirectory: this.target.projectDirectory,
      },
      this.docker,
    )
  }

  async up(options: UpOptions, runOptions: RunOptions = {}): Promise<void> {
    const env = options.classicBuilder ? {...runOptions.env, DOCKER_BUILDKIT: '0'} : runOptions.env
    for (let attempt = 1; ; attempt++) {
      try {
        await this.exec(upArgs(this.target, options), {...runOptions, env})
        return
      } catch (error) {
        const lost = error instanceof ProcessFailed && networkCreateRaced(error.stderr)
        if (!lost || attempt >= NETWORK_RACE_ATTEMPTS || runOptions.signal?.aborted) throw error
        // `up` is idempotent: what the failed attempt created is reused, nothing is removed.
        runOptions.onLine?.(
          `the engine could not create the project's network (a host network interface changed while it chose a subnet); trying again (${attempt + 1} of ${NETWORK_RACE_ATTEMPTS})`,
          'stderr',
        )
        debug('network creation raced an interface change, attempt %d', attempt + 1)
        await new Promise((resolve) => setTimeout(resolve, 500 * attempt))
      }
    }
  }

  async down(options: {volumes?: boolean; timeoutSeconds?: number} = {}, runOptions: RunOptions = {}): Promise<void> {
    await this.exec(downArgs(this.target, options), runOptions)
  }

  async stop(services: readonly string[], runOptions: RunOptions = {}): Promise<void> {
    await this.exec(stopArgs(this.target, services), runOptions)
  }

  async start(services: readonly string[], runOptions: RunOptions = {}): Promise<void> {
    await this.exec(startArgs(this.target, services), runOptions)
  }

  async logs(options: LogsOptions, runOptions: RunOptions = {}) {
    return this.exec(logsArgs(this.target, options), runOptions)
  }

  /** Each service's configuration hash as Compose computes it for the rendered file (and any override). */
  async configHashes(): Promise<Map<string, string>> {
    return parseConfigHashes((await this.exec(configHashArgs(this.target))).stdout)
  }

  /** `docker compose config --quiet`: validates the rendered file. */
  async validate(): Promise<void> {
    await this.exec([...baseArgs(this.target), 'config', '--quiet'])
  }

  async mergedConfig(renderedText: string): Promise<string> {
    return (await this.exec(mergedConfigArgs(this.target), {input: renderedText})).stdout
  }

  private async exec(args: string[], runOptions: RunOptions = {}) {
    try {
      return await this.docker.compose(args, runOptions)
    } catch (error) {
      if (error instanceof ProcessFailed) throw translateComposeFailure(error)
      throw error
    }
  }
}

const NETWORK_RACE_ATTEMPTS = 3

/**
 * Podman (rootful and rootless) lists the host's interface addresses to choose a free subnet for a new
 * network; Go's net.InterfaceAddrs fails with "route ip+net: no such network interface" when an interface
 * (another container's veth) disappears between its two netlink reads. Seen in CI with rootful Docker's
 * containers coming and going beside rootless Podman. Nothing was created; the same request succeeds again.
 */
export function networkCreateRaced(stderr: string): boolean {
  return /failed to create network [^\n]*route ip\+net: no such network interface/.test(stderr)
}

/** Turns Compose's best-known failure messages into errors that say what to do. */
export function translateComposeFailure(error: ProcessFailed): ProcessFailed {
  const port =
    /Bind for ([\d.:[\]]+):(\d+) failed: port is already allocated|listen tcp[46]? ([\d.:[\]]+):(\d+): bind: address already in use/.exec(
      error.stderr,
    )
  if (port) {
    const portNumber = port[2] ?? port[4]
    return new ProcessFailed(
      error.command,
      error.processExitCode,
      `port ${portNumber} is already in use on the host`,
      `choose another with --port or STACKCTL_PORT, or stop what is using port ${portNumber}`,
    )
  }
  return error
}
