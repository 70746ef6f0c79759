/**
 * Taking the stack apart in one of three ways, and the proof — from the Docker API, not from Compose's word —
 * that the old containers are really gone while the data volume is the very same one.
 */
import type {ContainerSummary} from '../../engine/engine.js'
import type {StackContext} from '../../stack/context.js'
import {remainingContainers, volumeCreatedAt} from './evidence.js'
import type {TeardownMode} from './options.js'

/** down and kill remove the containers; recreate replaces them. The volume is never part of it. */
export async function tearDown(ctx: StackContext, mode: TeardownMode): Promise<void> {
  // Shielded from Ctrl-C: an interrupted check finishes the teardown it started, then relaunches.
  const run = {onLine: (line: string) => ctx.detail(line), shield: true}
  if (mode === 'recreate') {
    // No --wait: the relaunch that follows waits for readiness itself (stackctl's probe, not the 60 s checks).
    await ctx.compose.up({wait: false, waitTimeoutSeconds: ctx.config.timeoutSeconds, forceRecreate: true}, run)
  } else {
    await ctx.compose.down({}, run)
  }
}

export interface TeardownEvidence {
  mode: TeardownMode
  volume: string
  /** The containers before teardown. */
  old: ContainerSummary[]
  /** Old container ids the engine still knows. */
  oldRemaining: string[]
  /** The project's containers now. */
  current: ContainerSummary[]
  networks: string[]
  /** CreatedAt before and after; undefined = the volume did not exist. */
  volumeCreatedBefore: string | undefined
  volumeCreatedAfter: string | undefined
  /** `destroy` events the engine reported for the volume since the baseline. */
  volumeDestroyEvents: number
}

export async function gatherTeardownEvidence(
  ctx: StackContext,
  mode: TeardownMode,
  old: ContainerSummary[],
  volume: string,
  volumeCreatedBefore: string | undefined,
  current: ContainerSummary[],
  volumeDestroyEvents: number,
): Promise<TeardownEvidence> {
  return {
    mode,
    volume,
    old,
    oldRemaining: await remainingContainers(
      ctx.engine,
      old.map((c) => c.id),
    ),
    current,
    networks: mode === 'recreate' ? [] : await ctx.engine.networks.listByProject(ctx.config.project),
    volumeCreatedBefore,
    volumeCreatedAfter: await volumeCreatedAt(ctx.engine, volume),
    volumeDestroyEvents,
  }
}

/** What the evidence says went wrong; empty when the teardown did what the mode promises. */
export function teardownProblems(evidence: TeardownEvidence): string[] {
  const problems: string[] = []
  const {mode, volume} = evidence
  if (evidence.old.length === 0) problems.push('there were no containers to tear down')
  if (evidence.oldRemaining.length > 0) {
    const names = evidence.old.filter((c) => evidence.oldRemaining.includes(c.id)).map((c) => c.name)
    problems.push(`the old container(s) ${names.join(', ')} still exist after ${describeMode(mode)}`)
  }
  if (mode === 'recreate') {
    const oldIds = new Set(evidence.old.map((c) => c.id))
    for (const service of ['db', 'app']) {
      const fresh = evidence.current.find((c) => c.service === service && !oldIds.has(c.id) && c.state === 'running')
      if (!fresh) problems.push(`${describeMode(mode)} left no new running ${service} container`)
    }
  } else {
    if (evidence.current.length > 0) {
      problems.push(`container(s) ${evidence.current.map((c) => c.name).join(', ')} remain after ${describeMode(mode)}`)
    }
    if (evidence.networks.length > 0) {
      problems.push(`network(s) ${evidence.networks.join(', ')} remain after ${describeMode(mode)}`)
    }
  }
  if (evidence.volumeCreatedBefore === undefined) {
    problems.push(`the stack's named volume ${volume} did not exist before teardown`)
  } else if (evidence.volumeCreatedAfter === undefined) {
    problems.push(`the volume ${volume} is gone after ${describeMode(mode)}`)
  } else if (evidence.volumeDestroyEvents > 0) {
    problems.push(`the volume ${volume} was removed and created again during ${describeMode(mode)}`)
  }
  return problems
}

export function describeMode(mode: TeardownMode): string {
  if (mode === 'recreate') return 'compose up --force-recreate'
  if (mode === 'kill') return 'SIGKILL and compose down'
  return 'compose down'
}
