/**
 * The ceiling of the API's path: a Node HTTP server that answers `{"visits":1}` with no database, in the
 * stack's base image (the image the app image is built FROM), published on 127.0.0.1 the way the app is and
 * loaded by the same autocannon code (api-load.ts). What the API reaches of it is what its own work per
 * request (parsing, the pg protocol, batching, JSON) and PostgreSQL's share of the cores leave. Measured with
 * the stack up and idle, before any load: right after a load run the database's background work (autovacuum,
 * checkpoints) takes cores from it.
 */
import {randomBytes} from 'node:crypto'

import {freePort} from '../src/lib/engine/net/ports.js'
import {run} from '../src/lib/engine/process/run.js'
import {loadApi, warmUp} from './api-load.js'
import {findPortProxy} from './cpu.js'
import type {LoadResult} from './results.js'

/** The levels the API is compared with its ceiling at. */
export const CEILING_LEVELS = [1, 32, 128] as const

const CONTAINER_PORT = 3000

/** The whole server: node's http module, one fixed body, keep-alive as node's default. */
export const CEILING_SERVER = `const body = '{"visits":1}';
require('node:http').createServer((req, res) => {
  res.writeHead(200, {'content-type': 'application/json', 'content-length': Buffer.byteLength(body)});
  res.end(body);
}).listen(${CONTAINER_PORT}, '0.0.0.0');
process.on('SIGTERM', () => process.exit(0));`

/**
 * `docker run` arguments: the app service's own limits and hardening (templates/compose/docker-compose.yml:
 * user 1000, read-only root, 256 MB, no capabilities), published on 127.0.0.1 only.
 */
export function ceilingRunArgs(name: string, image: string, hostPort: number, project: string): string[] {
  return [
    'run',
    '--detach',
    '--name',
    name,
    '--label',
    `io.stackctl.bench.ceiling-of=${project}`,
    '--user',
    '1000:1000',
    '--read-only',
    '--memory',
    '256m',
    '--cap-drop',
    'ALL',
    '--security-opt',
    'no-new-privileges:true',
    '--publish',
    `127.0.0.1:${hostPort}:${CONTAINER_PORT}`,
    image,
    'node',
    '-e',
    CEILING_SERVER,
  ]
}

export interface CeilingServer {
  name: string
  id: string
  url: string
  port: number
}

/** The ceiling's container name for a bench project: removeStack removes it by this name too. */
export function ceilingName(project: string): string {
  return `${project}-ceiling-${randomBytes(2).toString('hex')}`
}

export async function startCeiling(name: string, image: string, project: string): Promise<CeilingServer> {
  const port = await freePort()
  const {stdout} = await run('docker', ceilingRunArgs(name, image, port, project))
  const server = {name, id: stdout.trim(), url: `http://127.0.0.1:${port}`, port}
  await answering(server.url)
  return server
}

/** Until it answers {"visits":1}; 30 s at most (a node start takes well under a second). */
async function answering(url: string): Promise<void> {
  const deadline = Date.now() + 30_000
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url)
      if (response.ok && ((await response.json()) as {visits?: number}).visits === 1) return
      last = `status ${response.status}`
    } catch (error) {
      last = error
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`the ceiling server at ${url} did not answer in 30 s: ${String(last)}`)
}

/** Removes the ceiling's container; "no such" means already gone. Never throws: returns the problem. */
export async function removeCeiling(name: string): Promise<string | undefined> {
  const result = await run('docker', ['rm', '--force', name], {reject: false})
  if (result.exitCode === 0 || /no such/i.test(result.stderr)) return undefined
  return `ceiling container ${name}: ${result.stderr.trim()}`
}

/** The ceiling at each level, with the same warm-up, durations and CPU accounting as the API's runs. */
export async function measureCeiling(
  server: CeilingServer,
  options: {seconds: number; warmUpSeconds: number; levels?: readonly number[]},
): Promise<LoadResult[]> {
  const cpu = {app: server.id, proxyPid: await findPortProxy(server.port)}
  await warmUp(server.url, 32, options.warmUpSeconds)
  const results: LoadResult[] = []
  for (const connections of options.levels ?? CEILING_LEVELS) {
    results.push(await loadApi(server.url, connections, options.seconds, cpu))
  }
  return results
}
