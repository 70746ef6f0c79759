/**
 * Switching the stack to another data volume, for `db upgrade` and `db rollback`: stack.json records the
 * active volume and major (and what was superseded), the compose file is rendered for it, and Compose
 * recreates the db on it. The API is then asked for one visit to prove the stack serves from the new data.
 */
import {appUrl} from '../../model/config/stack-config.js'
import {Psql} from '../db/psql.js'
import {runningService} from '../../engine/services.js'
import {StackctlError} from '../../errors.js'
import {readState, writeState, type StackState} from '../../model/stackdir/stack-files.js'
import type {StackContext} from '../../stack/context.js'
import type {ImageResolver} from '../../stack/images.js'
import {upStack} from '../../targets/compose/up.js'
import type {StepRunner} from '../../plan/runner.js'

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
 * Renders for `target`, records `state` (its settings are rewritten by the render) and starts the stack on it
 * (up's steps as children of the step of `steps` under way).
 * Not interruptible: a switch half done is worse than one finished. Resolves the context of the new stack.
 */
export async function switchTo(
  ctx: StackContext,
  resolver: ImageResolver,
  target: VolumeRef,
  state: StackState,
  steps?: StepRunner,
): Promise<StackContext> {
  const next = onVolume(ctx, target)
  next.state = state
  // up's own steps print inside the caller's step when it has a runner; otherwise they are not shown.
  next.phase = steps?.phase ?? (() => {})
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

/** What the API check proved: the visit it recorded, and the total the API reported with it. */
export interface ServedVisit {
  id: number
  total: number
}

/**
 * One visit through the real API, proving the stack serves from the copied data: the visit's id is above the
 * copy's highest id, and the running db (on `volume`) holds that row and every copied row. Users may visit
 * during the switch, so neither the id nor the total is expected to be exactly the next one.
 */
export async function proveServing(
  ctx: StackContext,
  copied: {volume: string; maxVisitId: number; visits: number},
): Promise<ServedVisit> {
  const url = `${appUrl(ctx.config)}/`
  let body: {visits?: unknown; visit?: {id?: unknown}}
  try {
    const response = await fetch(url, {signal: AbortSignal.timeout(15_000)})
    body = (await response.json()) as typeof body
    if (!response.ok) throw new Error(`HTTP ${response.status}`)
  } catch (error) {
    throw new StackctlError(`the API at ${url} did not record a visit: ${(error as Error).message}`)
  }
  const id = body.visit?.id
  const total = body.visits
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || typeof total !== 'number') {
    throw new StackctlError(`the API at ${url} answered without a visit id and total`)
  }
  if (id <= copied.maxVisitId) {
    throw new StackctlError(
      `the API at ${url} recorded visit id ${id}, not above the copy's highest id ${copied.maxVisitId}: it is not writing to the copied data`,
    )
  }
  const db = await runningService(ctx.engine, ctx.config.project, 'db')
  if (!db || (db.volumes && !db.volumes.includes(copied.volume))) {
    throw new StackctlError(`the stack's database is not running on ${copied.volume}`)
  }
  const [row, kept] = (
    await new Psql(ctx.engine, db.id).query(
      `SELECT (SELECT count(*) FROM visits WHERE id = ${id}) || '|' || (SELECT count(*) FROM visits WHERE id <= ${copied.maxVisitId})`,
    )
  ).split('|')
  if (row !== '1' || Number(kept) !== copied.visits) {
    throw new StackctlError(
      `the database on ${copied.volume} ${row === '1' ? '' : `lacks the visit ${id} the API recorded and `}holds ${kept} of the ${copied.visits} copied visits`,
    )
  }
  return {id, total}
}
