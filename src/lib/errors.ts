/**
 * Typed failures of the domain layer. Commands never print stack traces for these: the base command turns
 * them into one line saying what failed, one saying what to do, and the exit code below.
 *
 * Exit codes: 1 = a check or an operation failed; 2 = usage or environment problem.
 */
export class StackctlError extends Error {
  readonly exitCode: number
  readonly suggestion?: string

  constructor(message: string, options: {exitCode?: number; suggestion?: string; cause?: unknown} = {}) {
    super(message, {cause: options.cause})
    this.name = new.target.name
    this.exitCode = options.exitCode ?? 1
    this.suggestion = options.suggestion
  }
}

/** Bad flags, arguments or environment values. */
export class UsageError extends StackctlError {
  constructor(message: string, suggestion?: string) {
    super(message, {exitCode: 2, suggestion})
  }
}

/** The host is missing something stackctl needs (a program, a permission, a reachable mirror). */
export class EnvironmentError extends StackctlError {
  constructor(message: string, suggestion?: string, cause?: unknown) {
    super(message, {exitCode: 2, suggestion, cause})
  }
}

export class EngineUnreachable extends EnvironmentError {
  constructor(
    readonly endpoint: string,
    cause?: unknown,
  ) {
    super(
      `cannot reach the Docker engine at ${endpoint}`,
      'start the engine (Debian hosts: sudo scripts/docker-engine.sh) or point DOCKER_HOST at a running one',
      cause,
    )
  }
}

export class CommandNotFound extends EnvironmentError {
  constructor(readonly command: string) {
    super(`cannot find '${command}' on PATH`, `install ${command} (Debian hosts: sudo scripts/docker-engine.sh)`)
  }
}

export class ComposeNotFound extends EnvironmentError {
  constructor(found?: string) {
    super(
      found
        ? `Docker Compose v2 is required, found ${found}`
        : 'Docker Compose v2 (the `docker compose` plugin) is not installed',
      'install the Compose v2 CLI plugin (Debian hosts: sudo scripts/docker-engine.sh)',
    )
  }
}

/** A child process exited non-zero. Carries the tail of its output so the user sees the failing step. */
export class ProcessFailed extends StackctlError {
  constructor(
    readonly command: string,
    readonly processExitCode: number | undefined,
    readonly stderr: string,
    suggestion?: string,
  ) {
    const tail = lastLines(stderr, 20)
    super(
      `${command} failed${processExitCode === undefined ? '' : ` (exit ${processExitCode})`}${tail ? `:\n${tail}` : ''}`,
      {
        exitCode: 1,
        suggestion,
      },
    )
  }
}

/** A child process was stopped because it ran longer than it may. */
export class ProcessTimedOut extends StackctlError {
  constructor(
    readonly command: string,
    readonly timeoutMs: number,
    readonly output: string,
  ) {
    const tail = lastLines(output, 10)
    const limit = timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`
    super(`${command} took longer than ${limit} and was stopped${tail ? `:\n${tail}` : ''}`, {
      exitCode: 1,
      suggestion: 'check that the engine and the network answer (DEBUG=stackctl:* shows every command)',
    })
  }
}

export function lastLines(text: string, count: number): string {
  const lines = text.trimEnd().split('\n')
  return lines.slice(-count).join('\n')
}

/** The user interrupted (Ctrl-C); the child was asked to stop and has. Exit 130 like a shell. */
export class Interrupted extends StackctlError {
  constructor(what: string, suggestion?: string) {
    super(`interrupted: ${what}`, {exitCode: 130, suggestion})
  }
}

/**
 * The engine would not create a volume with the driver options it was given (a bind mount without `type`, an
 * option its driver does not know). Nothing was created. The engine's own words are kept: they name the option.
 */
export class VolumeOptionsRefused extends StackctlError {
  constructor(
    readonly volume: string,
    readonly reason: string,
    cause?: unknown,
  ) {
    super(`the engine refused the options of volume ${volume}: ${reason}`, {exitCode: 2, cause})
  }
}
