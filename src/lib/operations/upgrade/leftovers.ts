/**
 * What a `db upgrade` or `db restore` that was killed (SIGKILL, a crash, a reboot) leaves behind: its temporary
 * server (running or stopped), the new volume it was filling (stack.json's pendingUpgrade, never switched to)
 * and the API an upgrade stops. `up` removes the temporary server and starts the API; the volume may hold a
 * copy someone wants to look at, so it is only reported, with the command that removes it. `doctor` reports
 * all of them.
 */
import {runningService} from '../../engine/services.js'
import {RECOVERY_LABEL, RESTORE_RUN_LABEL} from '../../model/protection.js'
import type {StackContext} from '../../stack/context.js'
import {shellQuote, UPGRADE_ROLE_LABEL} from './plan.js'

/** The command a leftover comes from. */
type Origin = 'db upgrade' | 'db restore'

export interface UpgradeLeftovers {
  /** The temporary servers (an upgrade's, a restore's recovery server) of this stack. */
  containers: Array<{id: string; name: string; state: string; origin: Origin}>
  /** The unfinished new volume, when it still exists. */
  volume?: string
  volumeOrigin?: Origin
  /** The db runs but the API does not, as an upgrade leaves it. */
  apiStopped: boolean
}

export async function findLeftovers(ctx: StackContext): Promise<UpgradeLeftovers> {
  const stackId = ctx.state?.stackId
  const upgrades = stackId ? await ctx.engine.containers.list({label: `${UPGRADE_ROLE_LABEL}=upgrade`}) : []
  const restores = stackId ? await ctx.engine.containers.list({label: RECOVERY_LABEL}) : []
  const containers = [
    ...upgrades
      .filter((c) => c.labels[UPGRADE_ROLE_LABEL] === 'upgrade')
      .map((c) => ({...c, origin: 'db upgrade' as const})),
    ...restores
      .filter((c) => c.labels[RECOVERY_LABEL] !== undefined)
      .map((c) => ({...c, origin: 'db restore' as const})),
  ]
    .filter((c) => c.labels['io.stackctl.stack-id'] === stackId)
    .map(({id, name, state, origin}) => ({id, name, state, origin}))
  const pending = ctx.state?.pendingUpgrade?.volume
  const switched = [ctx.config.volume, ...(ctx.state?.superseded ?? []).map((s) => s.volume)]
  const info = pending && !switched.includes(pending) ? await ctx.engine.volumes.inspect(pending) : undefined
  const volume = info ? pending : undefined
  const volumeOrigin: Origin | undefined = info
    ? info.labels[RESTORE_RUN_LABEL] === undefined
      ? 'db upgrade'
      : 'db restore'
    : undefined
  const {project} = ctx.config
  const apiStopped =
    containers.length + (volume ? 1 : 0) > 0 &&
    !(await runningService(ctx.engine, project, 'app')) &&
    Boolean(await runningService(ctx.engine, project, 'db'))
  return {containers, volume, ...(volumeOrigin ? {volumeOrigin} : {}), apiStopped}
}

/** For `up`: removes the killed upgrade's temporary servers and says what is left and how to remove it. */
export async function cleanLeftovers(ctx: StackContext): Promise<void> {
  if (!ctx.state) return
  // An engine that cannot answer is up's to report, in its own words.
  const found = await findLeftovers(ctx).catch(() => undefined)
  if (!found) return
  for (const container of found.containers) {
    // up holds the stack's lock, so no db upgrade is under way: the server is a killed run's.
    await ctx.engine.containers.remove(container.id)
    ctx.progress(`removed ${container.name} (${container.state}), ${serverNote(container.origin)}`)
  }
  if (found.volume) ctx.progress(`kept ${volumeNote(ctx, found.volume, found.volumeOrigin)}`)
}

/** For `doctor`: what is left and the fix, or undefined when nothing is. */
export async function leftoversCheck(
  ctx: StackContext,
): Promise<{status: 'warn' | 'fail'; detail: string; fix: string} | undefined> {
  const found = await findLeftovers(ctx)
  if (found.containers.length === 0 && !found.volume) return undefined
  const parts = [
    ...found.containers.map((c) => `${c.name} (${c.state}), ${serverNote(c.origin)}`),
    ...(found.apiStopped ? ['the API it stopped is still stopped'] : []),
    ...(found.volume ? [volumeNote(ctx, found.volume, found.volumeOrigin)] : []),
  ]
  const up = `stackctl up${stackFlagsHint(ctx)}`
  const running = [...new Set(found.containers.map((c) => `stackctl ${c.origin}`))].join(' or ')
  const fix =
    found.containers.length > 0
      ? `if no ${running} is running, ${up} removes the temporary server and starts the API`
      : found.apiStopped
        ? `${up} starts the API`
        : `stackctl db prune-old ${found.volume!}${stackFlagsHint(ctx)}`
  return {status: found.containers.length > 0 || found.apiStopped ? 'fail' : 'warn', detail: parts.join('; '), fix}
}

function serverNote(origin: Origin): string {
  return origin === 'db restore'
    ? 'the recovery server of a db restore that was killed'
    : 'the temporary server of a db upgrade that was killed'
}

function volumeNote(ctx: StackContext, volume: string, origin: Origin = 'db upgrade'): string {
  const next = origin === 'db restore' ? 'the next db restore removes it' : 'the next db upgrade replaces it'
  return `${volume}, the unfinished copy of a ${origin} that was killed (the stack never ran on it): ${next}; to remove it now: stackctl db prune-old ${volume}${stackFlagsHint(ctx)}`
}

/** ` --dir DIR --project-name NAME`: a hint's command then works from any directory. */
export function stackFlagsHint(ctx: Pick<StackContext, 'paths' | 'config'>): string {
  return ` --dir ${shellQuote(ctx.paths.dir)} --project-name ${shellQuote(ctx.config.project)}`
}
