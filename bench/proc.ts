/**
 * Child processes for the benchmark, through stackctl's own process runner: argument arrays only (no shell),
 * output captured, wall time measured from spawn to exit, and every output line time-stamped so phases can
 * be read from the outside.
 */
import {fileURLToPath} from 'node:url'

import {run} from '../src/lib/engine/process/run.js'

export const repoRoot = fileURLToPath(new URL('../', import.meta.url))
export const cliBin = fileURLToPath(new URL('../bin/run.js', import.meta.url))

export interface ProcessResult {
  exitCode: number
  stdout: string
  stderr: string
  ms: number
  /** Each non-empty line of stdout and stderr with its arrival time, in ms since spawn. */
  lines: Array<{atMs: number; text: string}>
}

/** Runs a command to its end; a non-zero exit is an error (the runner's ProcessFailed) unless `check` is false. */
export async function runProcess(
  command: string,
  args: readonly string[],
  options: {env?: NodeJS.ProcessEnv; check?: boolean; user?: RunAs; signal?: AbortSignal} = {},
): Promise<ProcessResult> {
  const started = process.hrtime.bigint()
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6
  const lines: ProcessResult['lines'] = []
  const result = await run(command, args, {
    cwd: repoRoot,
    env: options.env,
    reject: options.check !== false,
    user: options.user,
    signal: options.signal,
    onLine: (text) => lines.push({atMs: elapsed(), text}),
  })
  return {...result, ms: elapsed(), lines}
}

/** A rootless engine's own user, whom stackctl runs as on that engine. */
export interface RunAs {
  uid: number
  gid: number
}

/** The built CLI, as a user runs it; `signal` stops it as Ctrl-C would (it undoes its step and exits). */
export function runCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  options: {user?: RunAs; signal?: AbortSignal} = {},
): Promise<ProcessResult> {
  return runProcess(process.execPath, [cliBin, ...args], {env, ...options})
}
