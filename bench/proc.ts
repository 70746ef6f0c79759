/**
 * Child processes for the benchmark: argument arrays only (no shell), output captured, wall time measured
 * from spawn to exit, and every output line time-stamped so phases can be read from the outside.
 */
import {spawn} from 'node:child_process'
import {fileURLToPath} from 'node:url'

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

export class ProcessFailed extends Error {
  constructor(
    readonly display: string,
    readonly result: ProcessResult,
  ) {
    super(`${display} exited with ${result.exitCode}: ${(result.stderr || result.stdout).trim().slice(-2000)}`)
  }
}

export function runProcess(
  command: string,
  args: readonly string[],
  options: {env?: NodeJS.ProcessEnv; cwd?: string; check?: boolean} = {},
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6
    const child = spawn(command, args, {
      cwd: options.cwd ?? repoRoot,
      env: {...process.env, ...options.env},
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const out = {stdout: '', stderr: ''}
    const lines: ProcessResult['lines'] = []
    for (const name of ['stdout', 'stderr'] as const) {
      let pending = ''
      child[name].on('data', (chunk: Buffer) => {
        const text = chunk.toString()
        out[name] += text
        pending += text
        const parts = pending.split(/\r?\n/)
        pending = parts.pop() ?? ''
        for (const line of parts) if (line.trim()) lines.push({atMs: elapsed(), text: line})
      })
    }
    child.on('error', reject)
    child.on('close', (code) => {
      const result = {exitCode: code ?? 1, ...out, ms: elapsed(), lines}
      if (options.check !== false && result.exitCode !== 0) {
        reject(new ProcessFailed([command, ...args].join(' '), result))
      } else resolve(result)
    })
  })
}

/** The built CLI, as a user runs it. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<ProcessResult> {
  return runProcess(process.execPath, [cliBin, ...args], {env})
}
