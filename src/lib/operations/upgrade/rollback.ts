/**
 * `stackctl db rollback`: back to the volume the last upgrade superseded, which nothing wrote to since. Visits
 * written after the upgrade live only on the newer volume: the rollback refuses (saying how many) unless
 * --force. The newer volume is kept, superseded in its turn.
 */
import {Psql} from '../db/psql.js'
import {countVisits} from '../db/visits.js'
import {runningService} from '../../engine/services.js'
import {StackctlError} from '../../errors.js'
import {checkInterrupted} from '../../cli/interrupt.js'
import type {StackContext} from '../../stack/context.js'
import type {ImageResolver} from '../../stack/images.js'
import {claimStack} from '../../stack/ownership.js'
import type {StackState, VolumeSwitch} from '../../model/stackdir/stack-files.js'
import {visitsSince} from './plan.js'
import {switchTo, type VolumeRef} from './switch.js'
import {makeRestorePoint, type RestorePoint} from '../protect/restore-point.js'

export interface RollbackResult {
  project: string
  from: VolumeRef
  to: VolumeRef
  /** Visits on the volume rolled back to, as the running stack reports them. */
  visits: number | null
  /** Visits written after the upgrade that stay behind on the newer volume (with --force). */
  left: number
  superseded: string
  /**
   * The restore point made on the newer volume before the switch (a stack that archives its WAL), or null. The
   * archive then follows the old cluster again (pgBackRest stanza-upgrade back to it) with a full backup.
   */
  restorePoint: RestorePoint | null
}

/**
 * Visits written on the active volume since the upgrade: every row above the copy's highest id but the
 * upgrade's own check visit, whoever wrote it and whenever (during the switch too). An upgrade recorded
 * before those ids were kept falls back to the difference of the counts.
 */
async function visitsAfter(ctx: StackContext, upgrade: VolumeSwitch, now: number): Promise<number> {
  const db = await runningService(ctx.engine, ctx.config.project, 'db')
  const {copiedMaxVisitId: max, checkVisitId: check = 0} = upgrade
  if (!Number.isSafeInteger(max) || !Number.isSafeInteger(check) || !db) {
    return visitsSince(upgrade.visitsAtSwitch, now)
  }
  const answer = await new Psql(ctx.engine, db.id).query(
    `SELECT count(*) FROM visits WHERE id > ${max} AND id <> ${check}`,
  )
  return Number(answer)
}

/** The upgrade that made the active volume, if the stack runs on one. */
export function lastUpgrade(state: StackState | undefined, active: string): VolumeSwitch | undefined {
  return (state?.switches ?? []).findLast((s) => s.kind === 'upgrade' && s.to.volume === active)
}

export async function rollbackStack(
  ctx: StackContext,
  resolver: ImageResolver,
  options: {force?: boolean; signal?: AbortSignal},
): Promise<RollbackResult> {
  await ctx.engine.ping()
  await ctx.compose.assertV2()
  await claimStack(ctx, {adopt: ctx.adopt})
  const current: VolumeRef = {volume: ctx.config.volume, pgMajor: ctx.config.pgMajor}
  const upgrade = lastUpgrade(ctx.state, current.volume)
  if (!upgrade) {
    throw new StackctlError(`nothing to roll back: ${current.volume} was not made by db upgrade`, {
      exitCode: 2,
      suggestion: 'stackctl volume inspect lists the volumes this stack ran on before',
    })
  }
  const target = upgrade.from
  const info = await ctx.engine.volumes.inspect(target.volume)
  const known = (ctx.state?.superseded ?? []).some((s) => s.volume === target.volume)
  // A volume the stack adopted carries no labels of its own: stack.json's record of the adoption vouches for it.
  const ours =
    info?.labels['io.stackctl.stack-id'] === ctx.state?.stackId || ctx.state?.adopted?.volume === target.volume
  if (!info || !known || !ours) {
    const why = !info ? 'it no longer exists' : !known ? 'stack.json no longer lists it' : 'it is not this stack’s'
    throw new StackctlError(`cannot roll back to ${target.volume}: ${why}`, {
      exitCode: 2,
      suggestion: `the stack keeps running on ${current.volume}; a backup from before the upgrade is ${upgrade.backup ?? 'not on record'}`,
    })
  }
  const now = await countVisits(ctx.engine, ctx.config.project)
  if (now === undefined && !options.force) {
    throw new StackctlError(
      `cannot tell how many visits were written since the upgrade: the stack '${ctx.config.project}' is not running`,
      {exitCode: 2, suggestion: 'start it with stackctl up and roll back again, or pass --force'},
    )
  }
  const left = now === undefined ? 0 : await visitsAfter(ctx, upgrade, now)
  if (left > 0 && !options.force) {
    throw new StackctlError(
      `refusing to roll back: ${left} visit${left === 1 ? ' was' : 's were'} written since the upgrade and would be lost (they are only on ${current.volume})`,
      {
        exitCode: 2,
        suggestion: `take a stackctl volume backup if you need them, then pass --force (${current.volume} is kept either way)`,
      },
    )
  }
  checkInterrupted(options.signal, 'nothing was changed', `the stack still runs on ${current.volume}`)
  const restorePoint = await makeRestorePoint(ctx, 'db rollback', options.signal)
  const at = new Date().toISOString()
  const state = ctx.state!
  const rolledBack: StackState = {
    ...state,
    superseded: [
      ...(state.superseded ?? []).filter((s) => s.volume !== target.volume),
      {...current, supersededBy: target.volume, at},
    ],
    switches: [
      ...(state.switches ?? []),
      {kind: 'rollback', from: current, to: target, at, visitsAtSwitch: Math.max(0, upgrade.visitsAtSwitch - 1)},
    ],
  }
  const next = await switchTo(ctx, resolver, target, rolledBack)
  // The switch is never left half done: a signal during it is answered once it is complete.
  checkInterrupted(
    options.signal,
    `the rollback had already switched: the stack runs on ${target.volume} (PostgreSQL ${target.pgMajor})`,
    `${current.volume} is kept`,
  )
  const visits = (await countVisits(next.engine, next.config.project)) ?? null
  return {
    project: ctx.config.project,
    from: current,
    to: target,
    visits,
    left,
    superseded: current.volume,
    restorePoint,
  }
}
