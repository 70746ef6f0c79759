/**
 * `stackctl db failover`: a leader change asked by hand, for the rare case Patroni did not make one itself (the
 * leader unhealthy or gone, and no member promoted). The plan is pure (unit-tested) and keeps the switchover's
 * rule: no member that could lack acknowledged visits is promoted. With a healthy leader the plan is the
 * switchover's own; Patroni then demotes the leader cleanly, as patronictl's failover does after its question.
 */
import {ready, waitUntil, waiting} from '../../../engine/wait/wait-until.js'
import {EnvironmentError, Interrupted, StackctlError, UsageError} from '../../../errors.js'
import type {SwarmContext} from '../cluster/context.js'
import {nodeNames} from '../tasks.js'
import {isLeader, SYNC_ROLES, type HaMemberStatus} from './members.js'
import type {HaSettings} from './spec.js'
import {describeLastSeen, haStatus, type HaStatus} from './status.js'
import {planSwitchover, type SwitchoverMember} from './switchover.js'

export interface FailoverPlan {
  /** The leader the failover replaces: null when no member leads. */
  from: SwitchoverMember | null
  to: SwitchoverMember
  /** A leader runs and answers: `db switchover` is the planned way, and the plan is the switchover's. */
  leaderHealthy: boolean
}

/** A replica's states in which its PostgreSQL runs and holds what it replayed (Patroni's names). */
const RUNNING_STATES = new Set(['running', 'streaming', 'in archive recovery'])

function matches(member: HaMemberStatus, wanted: string): boolean {
  return member.name === wanted || member.node === wanted
}

/** Why a member, with no healthy leader to stream from, could lack acknowledged visits; undefined when it cannot. */
function failoverEligibility(member: HaMemberStatus, timeline: number | null, status: HaStatus): string | undefined {
  if (!RUNNING_STATES.has(member.state)) return `${member.name} is ${member.state}`
  if (member.timeline !== null && timeline !== null && member.timeline !== timeline) {
    return `${member.name} is on timeline ${member.timeline}, the newest is ${timeline}`
  }
  if (status.durability === 'sync' && !SYNC_ROLES.has(member.role)) {
    return `${member.name} is a ${member.role}, not a synchronous standby: it may lack the last acknowledged visits`
  }
  return undefined
}

/**
 * Who takes over. With one healthy leader: the switchover's plan (the same refusals). Without one (no member
 * leads, or the one holding the leader key does not run): `to`, or the eligible member least behind — running,
 * on the newest timeline, and with synchronous durability a member of the synchronous quorum. Two leaders, or no
 * eligible member, are refused with nothing asked of Patroni.
 */
export function planFailover(status: HaStatus, to: string | undefined, again: string): FailoverPlan {
  const leaders = status.members.filter(isLeader)
  if (leaders.length > 1) {
    throw new EnvironmentError(
      `${leaders.length} members report themselves leader (${leaders.map((l) => l.name).join(', ')}): a failover now could lose visits`,
      `see the members with: ${again}`,
    )
  }
  if (status.error !== null && status.members.length === 0) {
    throw new EnvironmentError(
      `no member answered (${status.error}): nothing to fail over to`,
      `see them with: ${again}`,
    )
  }
  const leader = leaders.at(0)
  if (leader && leader.state === 'running') {
    const plan = planSwitchover(status, to, again)
    return {from: plan.from, to: plan.to, leaderHealthy: true}
  }
  const others = status.members.filter((m) => m !== leader)
  const timelines = status.members.flatMap((m) => (m.timeline === null ? [] : [m.timeline]))
  const newest = timelines.length > 0 ? Math.max(...timelines) : null
  const from = leader ? {member: leader.name, node: leader.node} : null
  const listed = others.map((m) => `${m.name} (${m.node})`).join(', ') || 'no member runs'
  if (to !== undefined) {
    if (leader && matches(leader, to)) {
      throw new UsageError(`${leader.name} holds the leadership already (${leader.state})`, `name another: ${listed}`)
    }
    const candidate = others.find((m) => matches(m, to))
    if (!candidate)
      throw new UsageError(`no member or node named '${to}'`, `--to takes a member or its node: ${listed}`)
    const why = failoverEligibility(candidate, newest, status)
    if (why) throw new UsageError(`cannot fail over to ${candidate.name}: ${why}`, `see the members with: ${again}`)
    return {from, to: {member: candidate.name, node: candidate.node}, leaderHealthy: false}
  }
  const eligible = others
    .filter((m) => failoverEligibility(m, newest, status) === undefined)
    .sort((a, b) => (a.lagBytes ?? 0) - (b.lagBytes ?? 0))
  if (eligible.length === 0) {
    const reasons = others.map((m) => failoverEligibility(m, newest, status)).join('; ')
    throw new UsageError(
      `no member can take over without losing acknowledged visits: ${reasons || 'no member runs'}`,
      `see the members with: ${again}`,
    )
  }
  return {from, to: {member: eligible[0].name, node: eligible[0].node}, leaderHealthy: false}
}

/** A running member's container where patronictl runs: the candidate's own (it runs: the plan said so). */
async function runningContainer(sw: SwarmContext, member: string): Promise<{node: string; id: string} | undefined> {
  const project = sw.stack.config.project
  const [tasks, nodes] = await Promise.all([sw.manager.swarm.tasks(project), sw.manager.swarm.nodes()])
  const task = tasks.find((t) => t.serviceName === `${project}_${member}` && t.state === 'running' && t.containerId)
  return task ? {node: nodeNames(nodes).get(task.nodeId) ?? '', id: task.containerId!} : undefined
}

/**
 * Asks Patroni for the failover and waits until `plan.to` leads (not for the others: the old leader may be
 * gone). patronictl exits 0 whether or not Patroni did it: its answer says which.
 */
export async function runFailover(
  sw: SwarmContext,
  ha: HaSettings,
  plan: FailoverPlan,
  options: {timeoutMs: number; signal?: AbortSignal; again: string},
): Promise<HaStatus> {
  const container = await runningContainer(sw, plan.to.member)
  if (!container) throw new StackctlError(`no running container of ${plan.to.member}`)
  const said = await sw.hostCli.nodeExec(
    container.node,
    container.id,
    ['patronictl', '-c', '/run/stackctl-ha/patroni.yml', 'failover', '--candidate', plan.to.member, '--force'],
    options.signal,
  )
  // patronictl prints Patroni's answer (or 'Failover failed, details: …'), then the member table, and exits 0.
  const refused = said.split('\n').find((line) => /failed, details:/.test(line))
  if (refused) {
    throw new StackctlError(`Patroni did not fail over to ${plan.to.member}: ${refused.trim()}`, {
      suggestion: `see the members with: ${options.again}`,
    })
  }
  const answer =
    said
      .split('\n')
      .find((line) => /Successfully|falling back to DCS/.test(line))
      ?.trim() ?? 'no answer'
  const outcome = await waitUntil<HaStatus, HaStatus | string>(
    async () => {
      const now = await haStatus(sw, ha, options.signal)
      return now.leader === plan.to.member && now.members.find((m) => m.name === now.leader)?.state === 'running'
        ? ready(now)
        : waiting(now)
    },
    {
      timeoutMs: options.timeoutMs,
      intervalMs: 2000,
      signal: options.signal,
      describe: `failover to ${plan.to.member}`,
      probeError: (error) => (error instanceof Error ? error.message : String(error)),
    },
  )
  if (outcome.state === 'ready') return outcome.value
  const seen = describeLastSeen(outcome.last)
  if (outcome.state === 'aborted') {
    throw new Interrupted(
      `the failover to ${plan.to.member} had been accepted by Patroni, which finishes it on its own (last seen: ${seen})`,
      `see where it stands with: ${options.again}`,
    )
  }
  throw new StackctlError(
    `the failover to ${plan.to.member}: not leading within ${options.timeoutMs / 1000} s (${seen}; patronictl: ${answer})`,
  )
}

/** What `db failover --json` prints. */
export interface FailoverReport {
  project: string
  /** The leader replaced; null when no member led. */
  from: SwitchoverMember | null
  to: SwitchoverMember
  /** A healthy leader was demoted (Patroni does it cleanly, as a switchover). */
  leaderWasHealthy: boolean
  /** From the request to the new leader running. */
  seconds: number
  timeline: number | null
  durability: HaStatus['durability']
  members: HaMemberStatus[]
}
