/**
 * The only module that starts processes. Callers pass argument arrays (never shell strings); failures come
 * back as typed errors: CommandNotFound when the program is missing, ProcessFailed with the output tail.
 */
import createDebug from 'debug'
import {execa} from 'execa'

import {CommandNotFound, ProcessFailed} from '../errors.js'

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
  /** Do not throw on a non-zero exit; the caller inspects exitCode. */
  reject?: boolean
  signal?: AbortSignal
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
    stdio: options.inherit ? 'inherit' : 'pipe',
    reject: false,
    stripFinalNewline: true,
    buffer: !options.inherit,
  })
  if (options.onLine && !options.inherit) {
    forwardLines(child.stdout, 'stdout', options.onLine)
    forwardLines(child.stderr, 'stderr', options.onLine)
  }
  const result = await child
  const stdout = typeof result.stdout === 'string' ? result.stdout : ''
  const stderr = typeof result.stderr === 'string' ? result.stderr : ''
  if ((result as {code?: string}).code === 'ENOENT') throw new CommandNotFound(command)
  const exitCode = result.exitCode ?? (result.isCanceled || result.timedOut ? 130 : 1)
  debug('exit %d %s', exitCode, display)
  if (exitCode !== 0 && options.reject !== false) {
    const reason = result.timedOut ? `timed out after ${options.timeoutMs} ms` : stderr || stdout
    throw new ProcessFailed(display, result.exitCode, reason)
  }
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
