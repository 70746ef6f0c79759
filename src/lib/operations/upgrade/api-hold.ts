/**
 * The API held still while the data under it is replaced (db upgrade, db restore, snapshot restore). Stopped
 * before the point the new data is taken from, it acknowledges no visit that the new data would not hold
 * (seen before: a `db restore --latest` under load acknowledged 185 visits during its recovery that the
 * restored data lacked). The switch's `up` starts it on the new data; a command that stops before its switch
 * starts it again on the old data (the undo registered here).
 */
import createDebug from 'debug'

import {runningService} from '../../engine/services.js'
import type {StackContext} from '../../stack/context.js'
import {collectFacts} from '../../targets/compose/diagnose.js'
import {newWaitMemory, waitServicesReady} from '../../targets/compose/wait-healthy.js'

const debug = createDebug('stackctl:api-hold')

export const API_RESTARTED = 'the API restarted on the old volume'

/** Stops the running API (nothing when it is not running), registering its restart as an undo. */
export async function stopApi(
  ctx: StackContext,
  undo: {onUndo(what: string, run: () => Promise<unknown>): void},
  why: string,
): Promise<boolean> {
  if (!(await runningService(ctx.engine, ctx.config.project, 'app'))) {
    ctx.progress('the API is not running: nothing to stop')
    return false
  }
  ctx.progress(`stopping the API: ${why}`)
  undo.onUndo(API_RESTARTED, () => restartApi(ctx))
  await ctx.compose.stop(['app'], {onLine: (line) => debug(line), shield: true})
  return true
}

/** Starts the API again on the data it had, and waits until it answers. */
export async function restartApi(ctx: StackContext): Promise<void> {
  const memory = newWaitMemory(await collectFacts(ctx.engine.containers, ctx.config.project, {logs: false}))
  await ctx.compose.up(
    {wait: false, waitTimeoutSeconds: ctx.config.timeoutSeconds, services: ['app']},
    {onLine: (line) => debug(line), shield: true},
  )
  // stackctl's probe, not --wait: the engine's first health check comes 60 s after the start.
  await waitServicesReady(ctx, ['app'], memory, undefined)
}
