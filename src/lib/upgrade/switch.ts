/**
 * Switching the stack to another data volume, for `db upgrade` and `db rollback`: stack.json records the
 * active volume and major (and what was superseded), the compose file is rendered for it, and Compose
 * recreates the db on it. The API is then asked for one visit to prove the stack serves from the new data.
 */
import {appUrl} from '../config/stack-config.js'
import {StackctlError} from '../errors.js'
import {readState, writeState, type StackState} from '../stackdir/stack-files.js'
import type {StackContext} from '../stack/context.js'
import type {ImageResolver} from '../stack/images.js'
import {upStack} from '../stack/up.js'

export interface VolumeRef {
  volume: string
  pgMajor: number
}

/** The same stack, configured for another volume and major (nothing is written). */
export function onVolume(ctx: StackContext, target: VolumeRef): StackContext {
  // Nothing is "remembered from the last run" in a switch: the settings are the ones it records.
  return {...ctx, config: {...ctx.config, volume: target.volume, pgMajor: target.pgMajor}, remembered: []}
}

/**
 * Renders for `target`, records `state` (its settings are rewritten by the render) and starts the stack on it.
 * Not interruptible: a switch half done is worse than one finished. Resolves the context of the new stack.
 */
export async function switchTo(
  ctx: StackContext,
  resolver: ImageResolver,
  target: VolumeRef,
  state: StackState,
): Promise<StackContext> {
  const next = onVolume(ctx, target)
  next.state = state
  next.phase = () => {} // up's own steps are inside the upgrade's switch step
  ctx.progress(`switching the stack to ${target.volume} (PostgreSQL ${target.pgMajor})`)
  await upStack(next, resolver, {shield: true})
  return next
}

/** Reads stack.json afresh, applies `change` and writes it; the context sees the result. */
export async function updateState(ctx: StackContext, change: (state: StackState) => StackState): Promise<void> {
  const state = await readState(ctx.paths)
  if (!state) throw new StackctlError(`${ctx.paths.stateFile} disappeared during the command`)
  ctx.state = change(state)
  await writeState(ctx.paths, ctx.state)
}

/** One visit through the real API: its total must be `expected`. Resolves the total the API reported. */
export async function visitThroughApi(ctx: StackContext, expected: number): Promise<number> {
  const url = `${appUrl(ctx.config)}/`
  let total: unknown
  try {
    const response = await fetch(url, {signal: AbortSignal.timeout(15_000)})
    total = ((await response.json()) as {visits?: unknown}).visits
    if (!response.ok) throw new Error(`HTTP ${response.status}`)
  } catch (error) {
    throw new StackctlError(`the API at ${url} did not record a visit: ${(error as Error).message}`)
  }
  if (total !== expected) {
    throw new StackctlError(`the API at ${url} reported visit ${String(total)}, expected ${expected}`)
  }
  return expected
}
