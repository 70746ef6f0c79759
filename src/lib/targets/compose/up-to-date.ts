/**
 * The fast path of `up` on a running stack. `docker compose up --wait` on a stack that already runs as
 * rendered changes nothing, yet takes about a second: its health wait polls in 500 ms steps, one service
 * after the other. Compose's own per-service configuration hashes (`config --hash`, the values it labels
 * containers with), the images' current ids and the containers' health answer the same question in about
 * 0.1 s. Anything short of a complete match (a missing, stopped, unhealthy or extra container, another hash,
 * an image rebuilt under the same tag, an override file, a Compose without --hash) leaves it to Compose.
 */
import path from 'node:path'

import createDebug from 'debug'
import {parse} from 'yaml'

import {ProcessFailed} from '../../errors.js'
import {readOptional, sha256, writeFileAtomic} from '../../model/stackdir/stack-files.js'
import type {ProjectSnapshot} from '../../engine/engine.js'
import {takeSnapshot} from '../../plan/observe.js'
import {confirmReadiness} from './readiness.js'
import {
  needsComparison,
  planUp,
  planUpContainers,
  type DesiredService,
  type DesiredUp,
  type UpContainer,
} from '../../plan/up.js'
import type {StackContext} from '../../stack/context.js'
import {SERVICES} from '../../stack/status.js'

export type ExpectedService = DesiredService

/** What the fast path reads of a container (the planner's view of it). */
export type ContainerState = UpContainer

/** True only when each expected service has exactly one container, running and healthy, as Compose would create it now. */
export function isUpToDate(expected: ReadonlyMap<string, ExpectedService>, containers: readonly ContainerState[]) {
  return planUpContainers(containers, {services: [...expected.keys()], expected}).length === 0
}

/**
 * What `up` wants, compared with the snapshot: Compose's hashes and the images' ids are asked only when the
 * snapshot alone plans nothing (a stack that is down or still starting needs Compose anyway).
 */
export async function desiredUp(
  ctx: StackContext,
  composeText: string,
  snapshot: ProjectSnapshot,
  options: {build?: boolean} = {},
): Promise<DesiredUp> {
  const base = {
    services: SERVICES,
    build: options.build,
    overrideFiles: (ctx.compose.target.overrideFiles ?? []).length,
  }
  if (options.build || base.overrideFiles > 0 || !needsComparison(snapshot, SERVICES)) {
    return {...base, expected: 'not-compared'}
  }
  let hashes: Map<string, string>
  try {
    hashes = await composeHashes(ctx, composeText)
  } catch (error) {
    if (error instanceof ProcessFailed) return {...base, expected: 'unknown'}
    throw error
  }
  const services = (parse(composeText) as {services?: Record<string, {image?: string}>}).services ?? {}
  const expected = new Map<string, ExpectedService>()
  for (const [service, configHash] of hashes) {
    const reference = services[service]?.image
    const image = reference === undefined ? undefined : await ctx.engine.images.inspect(reference)
    expected.set(service, {configHash, imageId: image?.id})
  }
  return {...base, expected}
}

/** Whether a running stack is exactly as the rendered file would create it (one listing of the project). */
export async function stackUpToDate(ctx: StackContext, composeText: string): Promise<boolean> {
  const observed = await takeSnapshot(ctx.engine, ctx.config.project)
  const snapshot = {...observed, containers: await confirmReadiness(observed.containers, ctx)}
  const desired = await desiredUp(ctx, composeText, snapshot)
  return planUp(snapshot, desired).length === 0
}

const debug = createDebug('stackctl:up-to-date')

/**
 * Everything Compose's hashes of the rendered file depend on: the file, Compose's version, the project, its
 * directory (with a .env there, if any) and the COMPOSE_ and DOCKER_ variables. Same key, same hashes.
 */
export function composeHashesKey(input: {
  composeText: string
  composeVersion: string
  project: string
  dir: string
  dotEnv: string | undefined
  env: NodeJS.ProcessEnv
}): string {
  const env = Object.entries(input.env)
    .filter(([name]) => name.startsWith('COMPOSE_') || name.startsWith('DOCKER_'))
    .sort(([a], [b]) => a.localeCompare(b))
  const {composeText, composeVersion, project, dir, dotEnv} = input
  return sha256(JSON.stringify([composeText, composeVersion, project, dir, dotEnv ?? null, env]))
}

/**
 * Compose's config hashes for the rendered file. `config --hash` is a process of its own and most of a no-op
 * up's time (0.3–0.4 s of about 1.5 s on 2 busy cores), so its answer is kept next to the file with the key of
 * what it was computed from, and asked again only when that key changes. A missing or unreadable memo is
 * recomputed; the memo only ever decides whether Compose is asked to do nothing.
 */
async function composeHashes(ctx: StackContext, composeText: string): Promise<Map<string, string>> {
  const {dir, composeHashesFile} = ctx.paths
  const key = composeHashesKey({
    composeText,
    composeVersion: await ctx.compose.assertV2(),
    project: ctx.config.project,
    dir,
    dotEnv: await readOptional(path.join(dir, '.env')).catch(() => 'unreadable'),
    env: process.env,
  })
  const memo = await readOptional(composeHashesFile).catch(() => undefined)
  try {
    const parsed = memo === undefined ? undefined : (JSON.parse(memo) as {key?: unknown; hashes?: unknown})
    if (parsed?.key === key && parsed.hashes && typeof parsed.hashes === 'object') {
      const entries = Object.entries(parsed.hashes as Record<string, unknown>)
      if (entries.every(([, hash]) => typeof hash === 'string')) return new Map(entries as Array<[string, string]>)
    }
  } catch (error) {
    debug('memo unreadable: %s', (error as Error).message)
  }
  const hashes = await ctx.compose.configHashes()
  await writeFileAtomic(composeHashesFile, JSON.stringify({key, hashes: Object.fromEntries(hashes)}), 0o644).catch(
    (error: unknown) => debug('memo not written: %s', (error as Error).message),
  )
  return hashes
}
