/**
 * The only module that starts processes. Callers pass argument arrays (never shell strings); failures come
 * back as typed errors: CommandNotFound when the program is missing, ProcessFailed with the output tail.
 */
import createDebug from 'debug'
import {execa} from 'execa'

import {CommandNotFound, Interrupted, ProcessFailed, ProcessTimedOut} from '../../errors.js'

const debug = createDebug('stackctl:process')

export interface RunOptions {
  cwd?: string
  env?: Record<string, string | undefined>
  input?: string | Buffer
  timeoutMs?: number
  /** Called for every line the process prints, for progress display. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void
  /** Pass the terminal through (interactive or following output). Nothing is captured then. */
  inherit?: boolean
  /** Keep the output for the result (default); off for endless streams read through onLine (logs --follow). */
  buffer?: boolean
  /** Do not throw on a non-zero exit; the caller inspects exitCode. */
  reject?: boolean
  signal?: AbortSignal
  /**
   * Run in a process group of its own, so a Ctrl-C typed in the terminal (which signals the whole foreground
   * group) does not reach it: for steps that must finish once started, like taking a stack down.
   */
  shield?: boolean
  /** Run as this user (the benchmark runs stackctl as a rootless engine's own user, as that user would). */
  user?: {uid: number; gid: number}
}

export interface RunResult {
  stdout: string
  stderr: string
  exitCode: number
}

export async function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const display = [command, ...args].join(' ')
  debug('run %s', display)
  const child = execa(command, args, {
    cwd: options.cwd,
    env: options.env,
    extendEnv: true,
    input: options.input,
    timeout: options.timeoutMs,
    cancelSignal: options.signal,
    // Like Ctrl-C in a terminal: Compose and most tools stop gracefully on SIGINT; SIGKILL follows after 10 s.
    killSignal: 'SIGINT',
    forceKillAfterDelay: 10_000,
    stdio: options.inherit ? 'inherit' : 'pipe',
    reject: false,
    stripFinalNewline: true,
    buffer: options.buffer ?? !options.inherit,
    detached: Boolean(options.shield),
    ...options.user,
  })
  if (options.onLine && !options.inherit) {
    forwardLines(child.stdout, 'stdout', options.onLine)
    forwardLines(child.stderr, 'stderr', options.onLine)
  }
  return settle(await child, command, display, options)
}

export interface PipeStage {
  command: string
  args: readonly string[]
}

/**
 * Runs `source | destination` without a shell: the source's stdout streams into the destination's stdin and
 * is never buffered here (it may be gigabytes, e.g. `tar -c ROOTFS | docker import -`). Fails like run() when
 * either side fails; the result is the destination's output.
 */
export async function runPipe(
  source: PipeStage,
  destination: PipeStage,
  options: Omit<RunOptions, 'input' | 'inherit' | 'reject'> = {},
): Promise<RunResult> {
  const display = `${[source.command, ...source.args].join(' ')} | ${[destination.command, ...destination.args].join(' ')}`
  debug('run %s', display)
  const common = {
    cwd: options.cwd,
    env: options.env,
    extendEnv: true,
    timeout: options.timeoutMs,
    cancelSignal: options.signal,
    reject: false,
    stripFinalNewline: true,
  } as const
  const producer = execa(source.command, source.args, {...common, buffer: {stdout: false}})
  const consumer = execa(destination.command, destination.args, common)
  if (options.onLine) {
    forwardLines(producer.stderr, 'stderr', options.onLine)
    forwardLines(consumer.stdout, 'stdout', options.onLine)
    forwardLines(consumer.stderr, 'stderr', options.onLine)
  }
  // Both results are inspected below; the pipe's own promise only repeats their failures.
  const piped = producer.pipe(consumer).catch(() => undefined)
  const [produced, consumed] = await Promise.all([producer, consumer])
  await piped
  if (isNotFound(produced)) throw new CommandNotFound(source.command)
  if (consumed.exitCode === 0) {
    settle(produced, source.command, display, options)
    return settle(consumed, destination.command, display, options)
  }
  // Each side's failure breaks the other (a truncated input, a broken pipe): show both sides' messages.
  const producerStderr = produced.exitCode !== 0 && typeof produced.stderr === 'string' ? produced.stderr : ''
  const stderr = [producerStderr, typeof consumed.stderr === 'string' ? consumed.stderr : ''].filter(Boolean)
  return settle({...consumed, stderr: stderr.join('\n')}, destination.command, display, options)
}

function isNotFound(result: unknown): boolean {
  return (result as {code?: string}).code === 'ENOENT'
}

interface SettledProcess {
  stdout?: unknown
  stderr?: unknown
  exitCode?: number
  isCanceled: boolean
  timedOut: boolean
}

function settle(
  result: SettledProcess,
  command: string,
  display: string,
  options: Pick<RunOptions, 'reject' | 'timeoutMs'>,
): RunResult {
  const stdout = typeof result.stdout === 'string' ? result.stdout : ''
  const stderr = typeof result.stderr === 'string' ? result.stderr : ''
  if (isNotFound(result)) throw new CommandNotFound(command)
  if (result.isCanceled) throw new Interrupted(`${display} was stopped`)
  // A timeout is a failure of its own (never Ctrl-C's 130): the process was stopped because it took too long.
  if (result.timedOut) throw new ProcessTimedOut(display, options.timeoutMs ?? 0, stderr || stdout)
  const exitCode = result.exitCode ?? 1
  debug('exit %d %s', exitCode, display)
  if (exitCode !== 0 && options.reject !== false) throw new ProcessFailed(display, result.exitCode, stderr || stdout)
  return {stdout, stderr, exitCode}
}

function forwardLines(
  stream: NodeJS.ReadableStream | null | undefined,
  name: 'stdout' | 'stderr',
  onLine: (line: string, stream: 'stdout' | 'stderr') => void,
): void {
  if (!stream) return
  let pending = ''
  stream.on('data', (chunk: Buffer | string) => {
    pending += chunk.toString()
    const lines = pending.split(/\r?\n|\r/)
    pending = lines.pop() ?? ''
    for (const line of lines) if (line.trim()) onLine(line, name)
  })
  stream.on('end', () => {
    if (pending.trim()) onLine(pending, name)
  })
}
