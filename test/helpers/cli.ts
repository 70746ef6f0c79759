/**
 * Runs the built CLI (bin/run.js over dist/) as a user would, in a child process with no terminal.
 */
import {spawn} from 'node:child_process'
import {fileURLToPath} from 'node:url'

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url))
const bin = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

export interface CliResult {
  exitCode: number
  stdout: string
  stderr: string
}

export interface CliOptions {
  env?: Record<string, string>
  cwd?: string
  input?: string
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return spawnCli(args, options).result
}

/** Like runCli, with the child at hand (to signal it) and its stderr so far. */
export function spawnCli(args: string[], options: CliOptions = {}) {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: {...process.env, ...options.env},
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const output = {stdout: '', stderr: ''}
  child.stdout.on('data', (chunk) => (output.stdout += chunk))
  child.stderr.on('data', (chunk) => (output.stderr += chunk))
  child.stdin.end(options.input ?? '')
  const result = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({exitCode: code ?? (signal ? 128 : 1), ...output}))
  })
  return {child, output, result}
}

export {freePort} from '../../src/lib/net/ports.js'
