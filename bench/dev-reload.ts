/**
 * `node --import tsx bench/dev-reload.ts [--saves N] [--logs]`: how long after a saved edit under src/api development
 * mode serves the new code. Starts `stackctl up --dev` on a copy of src/api (a stack of its own, removed at
 * the end), then N times changes the greeting in config.ts, alternately written in place and saved the way
 * many editors do (a new file renamed over the old one), and polls `GET /` every 10 ms until the reply carries
 * the new greeting. Prints one JSON object (and with --logs the app's log); not part of `npm run bench` (it needs a minute of its own).
 */
import {chmod, cp, mkdtemp, readFile, rename, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {parseArgs} from 'node:util'

import {createEngine} from '../src/lib/engine/dockerode-engine.js'
import {repoRoot, runCli} from './proc.js'
import {createStack, removeStack} from './stack.js'
import {median, round} from './stats.js'

const GREETING = "export const DEFAULT_MESSAGE = 'Hello from the stackctl visit tracker!'"
const POLL_MS = 10
const SETTLE_MS = 2000
/** A save not served by then counts as missed (null). */
const SAVE_TIMEOUT_MS = 15_000

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function greeting(url: string): Promise<string | undefined> {
  try {
    const response = await fetch(`${url}/`, {signal: AbortSignal.timeout(2000)})
    return response.status === 200 ? ((await response.json()) as {message: string}).message : undefined
  } catch {
    return undefined
  }
}

/** Whether the message was served within the time. */
async function waitFor(url: string, message: string, timeoutMs: number): Promise<boolean> {
  const started = performance.now()
  while (performance.now() - started < timeoutMs) {
    if ((await greeting(url)) === message) return true
    await sleep(POLL_MS)
  }
  return false
}

async function save(file: string, text: string, atomic: boolean): Promise<void> {
  if (!atomic) return writeFile(file, text)
  await writeFile(`${file}.tmp`, text)
  await rename(`${file}.tmp`, file)
}

async function main(): Promise<void> {
  const {values} = parseArgs({options: {saves: {type: 'string'}, logs: {type: 'boolean'}}})
  const saves = Number(values.saves ?? 6)
  const engine = createEngine()
  const stack = await createStack()
  const source = await mkdtemp(path.join(tmpdir(), 'stackctl-dev-src-'))
  try {
    await cp(path.join(repoRoot, 'src', 'api'), source, {recursive: true})
    // mkdtemp makes it private; the container's user must read it.
    await chmod(source, 0o755)
    const config = path.join(source, 'config.ts')
    const original = await readFile(config, 'utf8')
    if (!original.includes(GREETING)) throw new Error(`config.ts no longer holds: ${GREETING}`)
    const args = ['--host', '127.0.0.1', '--port', String(stack.port), '--dev', '--dev-source', source]
    await runCli(['up', ...stack.cliArgs, ...args], stack.env)
    if (!(await waitFor(stack.url, 'Hello from the stackctl visit tracker!', 60_000))) {
      throw new Error('the dev server did not answer within 60 s')
    }
    const runs: Array<{save: string; ms: number | null}> = []
    for (let i = 1; i <= saves; i++) {
      await sleep(SETTLE_MS)
      const message = `reload ${i}`
      const atomic = i % 2 === 0
      const started = performance.now()
      await save(config, original.replace(GREETING, `export const DEFAULT_MESSAGE = '${message}'`), atomic)
      const served = await waitFor(stack.url, message, SAVE_TIMEOUT_MS)
      runs.push({save: atomic ? 'rename' : 'in place', ms: served ? round(performance.now() - started, 0) : null})
    }
    const ms = runs.map((r) => r.ms ?? Number.POSITIVE_INFINITY)
    const summary = {
      runs,
      medianMs: median(ms),
      maxMs: Math.max(...ms),
      missed: runs.filter((r) => r.ms === null).length,
    }
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`)
    if (values.logs) process.stdout.write((await runCli(['logs', 'app', ...stack.cliArgs], stack.env)).stdout)
  } finally {
    for (const problem of await removeStack(engine, stack)) process.stderr.write(`cleanup: ${problem}\n`)
    await rm(source, {recursive: true, force: true})
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`dev-reload failed: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  },
)
