/**
 * stackctl's own readiness probe. The engine's health checks run every 60 s (each one forks processes in the
 * container: an idle stack must cost next to nothing), and engine 20.10 runs the first one a whole interval
 * after the container starts, so a fresh container says `starting` for 60 s while it already answers. Where
 * stackctl waits (up, start, restart, verify-persistence's relaunch, the db a password check starts) and where
 * `status` reads a `starting` service, it asks the services itself, in milliseconds:
 * - the app: GET /healthz through its published port, from this process (200 also proves the db answered it);
 * - the db: one `pg_isready` exec, only when the app's answer does not already vouch for it.
 * Only `starting` is overruled: `unhealthy` is the engine's evidence (its check ran and failed), and stays.
 * The reasons are the in-container probes' own one-line reasons.
 */
import {get} from 'node:http'

import type {ContainerClient, Health} from '../../engine/engine.js'
import {appUrl} from '../../model/config/stack-config.js'
import {APP_PROBE_SCRIPT, pgIsReady} from '../../model/stack-model.js'
import type {StackContext} from '../../stack/context.js'
import {foreignStack, healthzReason, STACK_HEADER} from '../../../api/healthz-protocol.js'

/** How long one GET /healthz may take, as the in-container probe's own read timeout. */
export const APP_PROBE_TIMEOUT_MS = 3000

export type ProbeResult = {ready: true} | {ready: false; reason: string}

/** GET <url>/healthz from this process: ready on 200, otherwise why not. Never throws. */
export function probeApp(url: string, timeoutMs = APP_PROBE_TIMEOUT_MS, stack?: string): Promise<ProbeResult> {
  const port = new URL(url).port || '80'
  return new Promise((resolve) => {
    const request = get(new URL('/healthz', url), {signal: AbortSignal.timeout(timeoutMs)}, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('error', (error) => resolve({ready: false, reason: `reading /healthz failed: ${error.message}`}))
      response.on('end', () => {
        const foreign = foreignStack(response.headers[STACK_HEADER], stack)
        if (foreign) return resolve({ready: false, reason: foreign})
        if (response.statusCode === 200) return resolve({ready: true})
        resolve({ready: false, reason: healthzReason(response.statusCode, Buffer.concat(chunks).toString())})
      })
    })
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (error.name === 'TimeoutError' || error.name === 'AbortError') {
        return resolve({ready: false, reason: `/healthz gave no answer within ${timeoutMs} ms`})
      }
      // The API listens only once the database answered and its schema is in place.
      const reason =
        error.code === 'ECONNREFUSED'
          ? `the API is not listening on port ${port} yet: it is starting or waiting for the database (see its log)`
          : `/healthz failed: ${error.code ?? error.message}`
      resolve({ready: false, reason})
    })
  })
}

/** One `pg_isready` in the db container (the engine's own probe): ready on exit 0, otherwise its line. */
export async function probeDb(containers: ContainerClient, id: string): Promise<ProbeResult> {
  try {
    const result = await containers.exec(id, pgIsReady())
    if (result.exitCode === 0) return {ready: true}
    const line = (result.stdout.trim() || result.stderr.trim()).split('\n').at(-1)
    return {ready: false, reason: line || `pg_isready exited ${result.exitCode}`}
  } catch (error) {
    return {ready: false, reason: `pg_isready could not run: ${error instanceof Error ? error.message : String(error)}`}
  }
}

/** What the overlay needs of a service: its container, state and the engine's health. */
export interface ProbedService {
  service: string
  id?: string
  state: string
  health: Health | string
  /** The engine's check (CMD …): stackctl's probe stands in only for its own checks; absent: not known. */
  healthTest?: string[]
}

/**
 * Whether the engine runs stackctl's own check here (or the dev runner's, the same GET /healthz): a check of
 * the user's override (docker-compose.override.yml) asks something else, and only the engine can answer it.
 */
export function isStackctlCheck(service: string, test: readonly string[] | undefined): boolean {
  if (test === undefined) return true
  const command = test[0] === 'CMD' ? test.slice(1) : test
  // Podman 4.3 keeps a CMD check split at every blank (`bash -c port=…; exec …` as one word each): the same
  // check, compared word by word.
  const words = (args: readonly string[]) => args.flatMap((arg) => arg.split(/\s+/)).filter((word) => word !== '')
  const same = (expected: readonly string[]) => {
    const [got, want] = [words(command), words(expected)]
    return got.length === want.length && got.every((arg, i) => arg === want[i])
  }
  if (service === 'db') return same(pgIsReady())
  if (service !== 'app') return false
  // Compose turns the template's `$$` into `$`.
  if (same(['bash', '-c', APP_PROBE_SCRIPT.replaceAll('$$', '$')])) return true
  return (
    command.length === 3 && command[0] === 'node' && command[1].endsWith('/server.mjs') && command[2] === 'healthcheck'
  )
}

export interface Probes {
  app: () => Promise<ProbeResult>
  db: (id: string) => Promise<ProbeResult>
}

/** `stack`: the stack id the API must answer for (stack.json's); another stack's answer is not readiness. */
export function stackProbes(containers: ContainerClient, url: string, stack?: string): Probes {
  return {app: () => probeApp(url, APP_PROBE_TIMEOUT_MS, stack), db: (id) => probeDb(containers, id)}
}

/**
 * The services with stackctl's probe laid over the engine's word: a running service the engine still calls
 * `starting` is `healthy` when it answers. `reasons` has the probe's line for each one that did not. A wait
 * also overrules `unhealthy` (options.overrule): a mark left from while the db was down lasts until the
 * engine's next check, up to 60 s later, and a stack that answers now need not wait for it.
 */
export async function overlayReadiness<T extends ProbedService>(
  services: readonly T[],
  probes: Probes,
  options: {overrule?: readonly string[]; recheckHealthy?: boolean} = {},
): Promise<{services: T[]; reasons: Map<string, string>}> {
  const reasons = new Map<string, string>()
  const overrule = [...(options.overrule ?? ['starting']), ...(options.recheckHealthy ? ['healthy'] : [])]
  const asked = (name: string) =>
    services.find(
      (s) =>
        s.service === name &&
        s.state === 'running' &&
        overrule.includes(s.health) &&
        isStackctlCheck(name, s.healthTest),
    )
  const [app, db] = [asked('app'), asked('db')]
  const ready = new Set<string>()
  if (app) {
    const answer = await probes.app()
    if (answer.ready) {
      ready.add('app')
      ready.add('db') // /healthz is 200 only when the database answered it
    } else reasons.set('app', answer.reason)
  }
  if (db && !ready.has('db') && db.id !== undefined) {
    const answer = await probes.db(db.id)
    if (answer.ready) ready.add('db')
    else reasons.set('db', answer.reason)
  }
  return {
    services: services.map((s) => {
      if (s !== app && s !== db) return s
      if (ready.has(s.service)) return {...s, health: 'healthy' as const}
      // recheckHealthy: the engine's `healthy` is from its last check, up to a minute old; no answer now outweighs it.
      return s.health === 'healthy' && reasons.has(s.service) ? {...s, health: 'unhealthy' as const} : s
    }),
    reasons,
  }
}

/**
 * The project's containers with stackctl's probe laid over their `starting` services, for whoever judges a
 * stack's health from a listing (status, doctor, up's plan). Asks nothing when no service is `starting`.
 */
export async function confirmReadiness<T extends ProbedService>(
  containers: readonly T[],
  ctx: Pick<StackContext, 'engine' | 'config' | 'state'>,
): Promise<T[]> {
  return confirmReadinessAt(containers, ctx.engine, appUrl(ctx.config), ctx.state?.stackId)
}

/** confirmReadiness for a stack known only by its containers and the app's URL (`ls`). */
export async function confirmReadinessAt<T extends ProbedService>(
  containers: readonly T[],
  engine: Pick<StackContext['engine'], 'containers'>,
  url: string,
  stack?: string,
): Promise<T[]> {
  return (await probeListed(containers, engine, url, stack, false)).containers
}

/**
 * For the reports (status, doctor): confirmReadiness, and a running stack the engine calls `healthy` asked once
 * more. The engine's checks run every 60 s and only three failures in a row make a service unhealthy, so its
 * `healthy` can be minutes old; a report must not call healthy an API that does not answer now (its db hung,
 * refusing connections). One GET /healthz when the app is healthy; the db is asked only when the app fails.
 * `reasons`: the probe's line for each service it did not find ready.
 */
export async function confirmHealthNow<T extends ProbedService>(
  containers: readonly T[],
  ctx: Pick<StackContext, 'engine' | 'config' | 'state'>,
): Promise<{containers: T[]; reasons: Map<string, string>}> {
  return probeListed(containers, ctx.engine, appUrl(ctx.config), ctx.state?.stackId, true)
}

async function probeListed<T extends ProbedService>(
  containers: readonly T[],
  engine: Pick<StackContext['engine'], 'containers'>,
  url: string,
  stack: string | undefined,
  recheckHealthy: boolean,
): Promise<{containers: T[]; reasons: Map<string, string>}> {
  const asked = (c: T) =>
    c.state === 'running' && (c.health === 'starting' || (recheckHealthy && c.health === 'healthy'))
  if (!containers.some(asked)) return {containers: [...containers], reasons: new Map()}
  // A listing does not say what the check is: the engine's inspection does (only for the services asked about).
  const known = await Promise.all(
    containers.map(async (c) =>
      asked(c) && c.id !== undefined && c.healthTest === undefined
        ? {c, test: (await engine.containers.inspect(c.id))?.health?.test ?? []}
        : {c, test: c.healthTest},
    ),
  )
  const probed = await overlayReadiness(
    known.map(({c, test}) => ({...c, healthTest: test})),
    stackProbes(engine.containers, url, stack),
    {recheckHealthy},
  )
  // The callers' own objects back, with the health laid over (the check's command stays out of their data).
  return {containers: containers.map((c, i) => ({...c, health: probed.services[i].health})), reasons: probed.reasons}
}
