/**
 * `stackctl down`: containers and network go, the data volume stays. Deleting the volume needs --volumes
 * and a confirmation naming the volume and how many visits it holds (or --force).
 */
import {existsSync} from 'node:fs'

import {countVisits} from '../../operations/db/visits.js'
import {Interrupted, StackctlError} from '../../errors.js'
import type {StackContext} from '../../stack/context.js'
import {claimStack} from '../../stack/ownership.js'
import {backupsVolumeName} from '../../model/protection.js'
import {makeRestorePoint, type RestorePoint} from '../../operations/protect/restore-point.js'

export interface DownOptions {
  volumes?: boolean
  force?: boolean
  /** Asks the user; resolves true to go ahead. Absent when there is no terminal to ask on. */
  confirm?: (volume: string, visits: number | undefined) => Promise<boolean>
  /** Ctrl-C: before Compose starts nothing happens; once it has started, the stack is taken down completely. */
  signal?: AbortSignal
}

export interface DownResult {
  project: string
  /** visits: null when they could not be counted (no volume, or its db was not running). */
  volume: {name: string; existed: boolean; deleted: boolean; visits: number | null}
  /** The WAL archive's volume, which down never deletes (Compose sees it as external); null when there is none. */
  backupsKept: string | null
  /** The named point made before the volume was deleted (an archiving stack with its db running); else null. */
  restorePoint: RestorePoint | null
}

export async function downStack(ctx: StackContext, options: DownOptions = {}): Promise<DownResult> {
  await ctx.engine.ping()
  await ctx.compose.assertV2()
  const {project} = ctx.config
  const volume = ctx.config.volume
  const claim = await claimStack(ctx, {adopt: ctx.adopt})
  const existed = claim.report.volume !== 'none'
  const visits = existed ? await countVisits(ctx.engine, project) : undefined
  const deleteVolume = Boolean(options.volumes) && existed
  if (deleteVolume && !options.force) {
    if (!options.confirm) {
      throw new StackctlError(`refusing to delete volume ${volume} without confirmation (no terminal to ask on)`, {
        exitCode: 2,
        suggestion: `pass --force to delete it and its ${visits ?? 'unknown number of'} visits, or run without --volumes`,
      })
    }
    if (!(await options.confirm(volume, visits))) {
      throw new StackctlError(`not confirmed: volume ${volume} kept, nothing was removed`, {exitCode: 1})
    }
  }
  const compose = existsSync(ctx.paths.composeFile) ? ctx.compose : ctx.compose.byLabelsOnly()
  if (options.signal?.aborted) throw new Interrupted('nothing was changed')
  // The volume's data stays reachable from the archive (down keeps it) up to this point.
  const restorePoint = deleteVolume ? await makeRestorePoint(ctx, 'down --volumes', options.signal) : null
  ctx.phase(deleteVolume ? 'remove containers, network and volume' : 'remove containers and network')
  // Shielded from Ctrl-C: a half-done down leaves the db running without its app.
  await compose.down({volumes: deleteVolume}, {onLine: (line) => ctx.detail(line), shield: true})
  if (options.signal?.aborted) {
    throw new Interrupted(
      `the stack '${project}' was taken down completely first, so it is not left half-stopped; volume ${volume} ${deleteVolume ? 'deleted as confirmed' : 'kept'}`,
    )
  }
  const backups = await ctx.engine.volumes.inspect(backupsVolumeName(project))
  return {
    project,
    volume: {name: volume, existed, deleted: deleteVolume, visits: visits ?? null},
    backupsKept: backups ? backups.name : null,
    restorePoint,
  }
}
