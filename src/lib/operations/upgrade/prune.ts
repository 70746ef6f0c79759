/**
 * `stackctl db prune-old`: removes a data volume the stack no longer runs on (superseded by `db upgrade` or
 * `db rollback`), only after the user typed its name back, or with --force. Only a volume stack.json lists as
 * superseded, labelled with this stack's id and used by no container, is ever removed — or, named explicitly,
 * the unfinished new volume of a db upgrade that was killed (stack.json's pendingUpgrade, never switched to).
 */
import {StackctlError} from '../../errors.js'
import type {StackContext} from '../../stack/context.js'
import {claimStack} from '../../stack/ownership.js'
import type {SupersededVolume} from '../../model/stackdir/stack-files.js'
import {updateState} from './switch.js'

export interface PruneOptions {
  /** Which superseded volume; may be left out when there is exactly one. */
  volume?: string
  force?: boolean
  /** Asks the user to type the name back; undefined without a terminal. `unfinished`: a killed upgrade's copy. */
  confirm?: (volume: SupersededVolume, unfinished: boolean) => Promise<boolean>
}

export interface PruneResult {
  project: string
  removed: string | null
  /** Superseded volumes still kept. */
  kept: string[]
}

/** Pure: which superseded volume the request means, or why none. */
export function choosePruneTarget(superseded: readonly SupersededVolume[], requested?: string): SupersededVolume {
  if (requested !== undefined) {
    const found = superseded.find((s) => s.volume === requested)
    if (found) return found
    throw new StackctlError(`${requested} is not a superseded volume of this stack`, {
      exitCode: 2,
      suggestion: `superseded volumes: ${superseded.map((s) => s.volume).join(', ') || 'none'}`,
    })
  }
  if (superseded.length === 1) return superseded[0]
  throw new StackctlError(
    superseded.length === 0
      ? 'this stack has no superseded volume'
      : `this stack has ${superseded.length} superseded volumes`,
    {
      exitCode: 2,
      suggestion:
        superseded.length === 0
          ? 'db upgrade and db rollback keep the volume they switch away from; nothing to prune'
          : `name one: ${superseded.map((s) => `stackctl db prune-old ${s.volume}`).join(' or ')}`,
    },
  )
}

export async function pruneOld(ctx: StackContext, options: PruneOptions): Promise<PruneResult> {
  await ctx.engine.ping()
  await claimStack(ctx, {adopt: ctx.adopt})
  const superseded = (ctx.state?.superseded ?? []).filter((s) => s.volume !== ctx.config.volume)
  const pending = ctx.state?.pendingUpgrade?.volume
  const unfinished =
    options.volume !== undefined &&
    options.volume === pending &&
    pending !== ctx.config.volume &&
    !superseded.some((s) => s.volume === pending)
  const pendingInfo = unfinished ? await ctx.engine.volumes.inspect(pending) : undefined
  const target: SupersededVolume = unfinished
    ? {
        volume: pending,
        pgMajor: Number(pendingInfo?.labels['io.stackctl.pg-major'] ?? 0),
        supersededBy: ctx.config.volume,
        at: pendingInfo?.labels['io.stackctl.created-at'] ?? '',
      }
    : choosePruneTarget(superseded, options.volume)
  const info = unfinished ? pendingInfo : await ctx.engine.volumes.inspect(target.volume)
  if (info && info.labels['io.stackctl.stack-id'] !== ctx.state?.stackId) {
    throw new StackctlError(`refusing to remove ${target.volume}: it does not carry this stack's id`, {exitCode: 2})
  }
  if (info) {
    const users = await ctx.engine.containers.list({volume: target.volume})
    if (users.length > 0) {
      throw new StackctlError(`refusing to remove ${target.volume}: container ${users[0].name} uses it`, {
        exitCode: 2,
        suggestion: 'stop that container first; the volume was not touched',
      })
    }
    if (!options.force) {
      if (!options.confirm) {
        throw new StackctlError(
          `refusing to delete volume ${target.volume} without confirmation (no terminal to ask on)`,
          {
            exitCode: 2,
            suggestion: 'pass --force to delete it',
          },
        )
      }
      if (!(await options.confirm(target, unfinished))) {
        throw new StackctlError(`not confirmed: volume ${target.volume} kept, nothing was removed`, {exitCode: 1})
      }
    }
    await ctx.engine.volumes.remove(target.volume) // the command says so, once
  }
  await updateState(ctx, ({pendingUpgrade, ...state}) => ({
    ...state,
    ...(pendingUpgrade && pendingUpgrade.volume !== target.volume ? {pendingUpgrade} : {}),
    superseded: (state.superseded ?? []).filter((s) => s.volume !== target.volume),
  }))
  return {
    project: ctx.config.project,
    removed: info ? target.volume : null,
    kept: superseded.filter((s) => s.volume !== target.volume).map((s) => s.volume),
  }
}
