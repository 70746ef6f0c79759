/**
 * Waiting for a deployed stack: every service has as many running tasks as it asked for. Swarm reports a task
 * with a healthcheck as `starting` until the check passes, so `running` means running and healthy. A task that
 * keeps failing ends the wait early, naming its service, node, state and error. The assessment is pure; the
 * wait (src/lib/engine/wait) takes its clock and sleep from the caller (unit tests hand in fakes).
 */
import type {SwarmClient, SwarmNode, SwarmTask} from '../../engine/engine.js'
import {Interrupted, StackctlError} from '../../errors.js'
import {clockOf} from '../../engine/wait/clock.js'
import {Deadline} from '../../engine/wait/deadline.js'
import {failed, type Look, ready, waitUntil, waiting} from '../../engine/wait/wait-until.js'

export interface TaskAssessment {
  done: boolean
  /** Set when a service's tasks failed too often to keep waiting. */
  failure?: string
  /** What is still missing, one item per service. */
  waiting: string[]
}

/** How many failed tasks of one service since the deploy end the wait (swarm retries with a delay). */
export const FAILURES_BEFORE_GIVING_UP = 3
const FAILED_STATES = new Set(['failed', 'rejected', 'orphaned'])

export function describeTask(task: SwarmTask, nodes: Map<string, string>): string {
  const node = nodes.get(task.nodeId) ?? (task.nodeId || 'no node')
  const detail = task.error || task.message
  return `${task.serviceName}.${task.slot ?? '-'} on ${node}: ${task.state}${detail ? ` (${detail})` : ''}`
}

export function assessTasks(
  expected: Record<string, number>,
  tasks: readonly SwarmTask[],
  sinceMs: number,
  nodes: Map<string, string> = new Map(),
): TaskAssessment {
  const waiting: string[] = []
  for (const [service, replicas] of Object.entries(expected)) {
    const own = tasks.filter((t) => t.serviceName === service)
    const failed = own.filter((t) => FAILED_STATES.has(t.state) && t.updatedAtMs >= sinceMs)
    if (failed.length >= FAILURES_BEFORE_GIVING_UP) {
      const latest = [...failed].sort((a, b) => b.updatedAtMs - a.updatedAtMs)[0]
      return {
        done: false,
        failure: `${service}: ${failed.length} tasks failed since the deploy; latest ${describeTask(latest, nodes)}`,
        waiting,
      }
    }
    const wanted = own.filter((t) => t.desiredState === 'running')
    const running = wanted.filter((t) => t.state === 'running')
    if (running.length < replicas) {
      const others = wanted.filter((t) => t.state !== 'running').map((t) => describeTask(t, nodes))
      waiting.push(`${service} ${running.length}/${replicas}${others.length ? `: ${others.join('; ')}` : ''}`)
    }
  }
  return {done: waiting.length === 0, waiting}
}

export interface WaitOptions {
  timeoutMs: number
  signal?: AbortSignal
  progress?: (line: string) => void
  now?: () => number
  sleep?: (ms: number) => Promise<void>
  pollMs?: number
  /** What to run to see the tasks, addressed to the stack and its swarm (swarmCommand). */
  hint?: string
}

export class TasksNotReady extends StackctlError {
  constructor(what: string, suggestion: string) {
    super(what, {exitCode: 1, suggestion})
  }
}

/** Polls the stack's tasks until every service runs healthy, a service keeps failing, or the time is up. */
export async function waitForTasks(
  swarm: SwarmClient,
  stack: string,
  expected: Record<string, number>,
  options: WaitOptions,
): Promise<void> {
  const clock = clockOf(options)
  const started = clock.now()
  const names = nodeNames(await swarm.nodes())
  let last = ''
  const look = async (): Promise<Look<void, TaskAssessment>> => {
    const assessment = assessTasks(prefixed(stack, expected), await swarm.tasks(stack), started - 1000, names)
    if (assessment.done) return ready(undefined)
    if (assessment.failure) return failed(assessment)
    const line = `waiting: ${assessment.waiting.join(' | ')}`
    if (line !== last) options.progress?.(line)
    last = line
    return waiting(assessment)
  }
  const outcome = await waitUntil(look, {
    deadline: new Deadline(started + options.timeoutMs, clock),
    intervalMs: options.pollMs ?? 1000,
    signal: options.signal,
    describe: `the tasks of ${stack}`,
  })
  if (outcome.state === 'ready') return
  if (outcome.state === 'aborted') throw new Interrupted('stopped waiting for the stack’s tasks')
  const hint = options.hint ?? `see the tasks with: docker stack ps --no-trunc ${stack}`
  if (outcome.state === 'failed') throw new TasksNotReady(outcome.last.failure ?? '', hint)
  throw new TasksNotReady(
    `not every task was running and healthy after ${Math.round(options.timeoutMs / 1000)} s: ${outcome.last.waiting.join(' | ')}`,
    hint,
  )
}

function prefixed(stack: string, expected: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(expected).map(([service, n]) => [`${stack}_${service}`, n]))
}

export function nodeNames(nodes: readonly SwarmNode[]): Map<string, string> {
  return new Map(nodes.map((n) => [n.id, n.hostname]))
}
