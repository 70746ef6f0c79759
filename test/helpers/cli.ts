/**
 * Runs the built CLI (bin/run.js over dist/) as a user would, in a child process with no terminal.
 */
import {spawn} from 'node:child_process'
import {fileURLToPath} from 'node:url'

import {assertJsonContract, commandOf} from './json-contract.js'

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url))
const bin = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

export interface CliResult {
  exitCode: number
  stdout: string
  stderr: string
}

export interface CliOptions {
  /** Merged over this process's environment; undefined removes a variable. */
  env?: Record<string, string | undefined>
  cwd?: string
  input?: string
}

/** Runs the CLI; with --json, its output must also match the command's schema (json-contract.ts). */
export async function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const result = await spawnCli(args, options).result
  if (args.includes('--json')) assertJsonContract(commandOf(args), result.stdout)
  return result
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

/**
 * Runs the built CLI in a pseudo-terminal (util-linux `script`), as a user at a terminal sees it: stdout and
 * stderr arrive mixed, as one stream, with whatever escape codes the CLI wrote.
 */
export function runCliInTerminal(
  args: string[],
  options: CliOptions = {},
): Promise<{exitCode: number; output: string}> {
  const quoted = [process.execPath, bin, ...args].map((word) => `'${word.replaceAll("'", "'\\''")}'`).join(' ')
  const child = spawn('script', ['--quiet', '--flush', '--return', '--command', quoted, '/dev/null'], {
    cwd: options.cwd ?? repoRoot,
    env: {...process.env, TERM: 'xterm-256color', ...options.env},
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  child.stdin.end()
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => resolve({exitCode: code ?? 1, output}))
  })
}
