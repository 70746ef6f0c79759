/**
 * Runs the built CLI (bin/run.js over dist/) as a user would, in a child process with no terminal.
 */
import {spawn} from 'node:child_process'
import {fileURLToPath} from 'node:url'

import {answersAt, canBind, freePort as kernelFreePort} from '../../src/lib/engine/net/ports.js'
import {docker} from './docker.js'
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
  /** Run as this user (a rootless engine's own user: its stack files must be that user's). */
  user?: {uid: number; gid: number}
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
    ...options.user,
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

/** How many ports each job slot of scripts/run-tests.mjs owns, from its STACKCTL_TEST_PORT_BASE. */
const PORT_BLOCK = 1000
let nextPort = 0

/** Every host port a container on this engine publishes (stopped ones too: a test may start them again). */
async function publishedPorts(): Promise<Set<number>> {
  try {
    const containers = await docker.listContainers({all: true})
    return new Set(containers.flatMap((c) => c.Ports.map((p) => p.PublicPort).filter(Boolean)))
  } catch {
    return new Set() // no engine (a unit test): nothing is published
  }
}

/**
 * A host port for a test. With the userland proxy off (as scripts/docker-engine.sh starts dockerd), a port a
 * container publishes has no listening socket, so "can it be bound" says free while another test file, running
 * at the same time, has its stack on it (seen: "Bind for 127.0.0.1:35113 failed: port is already allocated").
 * So each job slot of scripts/run-tests.mjs takes ports from its own block (STACKCTL_TEST_PORT_BASE), one after
 * the other, skipping any that a container publishes or a process holds; without a block, the kernel picks.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const base = Number(process.env.STACKCTL_TEST_PORT_BASE)
  const published = await publishedPorts()
  for (let tries = 0; tries < PORT_BLOCK; tries++) {
    const port = base > 0 ? base + (nextPort++ % PORT_BLOCK) : await kernelFreePort(host)
    // Nothing may answer either: another engine (Podman) or a rule left behind can forward a bindable port.
    if (!published.has(port) && (await canBind(host, port)) && (await answersAt(host, port)) === 'refused') return port
  }
  throw new Error(`no free port for the test${base > 0 ? ` in ${base}-${base + PORT_BLOCK - 1}` : ''}`)
}

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

/**
 * For `up` in tests whose subject is not WAL archiving, which is on by default for a new stack: without it
 * the first `up` takes no full backup (about 2.5 s of pgBackRest) and no `<project>_backups` volume joins the
 * project's volumes that such tests list. The core path (stack, lifecycle, verify-persistence) keeps the
 * default, archiving on, so the default is what the suite proves; db upgrade with archiving has its own file.
 */
export const NO_WAL_ARCHIVE = '--no-wal-archive'
