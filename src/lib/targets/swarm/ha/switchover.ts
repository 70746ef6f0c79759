/**
 * A planned switchover of the HA database's leader (`stackctl db switchover`, and the failover check's first
 * move off node 1): Patroni stops the leader cleanly after its WAL reached the candidate, promotes the
 * candidate, and the old leader rejoins as its replica, so no acknowledged visit can be lost. The plan is pure
 * (unit-tested); running it asks Patroni through the leader's container and waits until the candidate leads
 * and every other member streams from it.
 */
import {waiting, ready, waitUntil} from '../../../engine/wait/wait-until.js'
import {EnvironmentError, Interrupted, StackctlError, UsageError} from '../../../errors.js'
import type {SwarmContext} from '../cluster/context.js'
import {nodeNames} from '../tasks.js'
import {isLeader, SYNC_ROLES, type HaMemberStatus} from './members.js'
import type {HaSettings} from './spec.js'
import {describeLastSeen, haStatus, type HaStatus} from './status.js'

export interface SwitchoverMember {
  member: string
  node: string
}

export interface SwitchoverPlan {
  from: SwitchoverMember
  to: SwitchoverMember
  /**
   * Other members as eligible as `to`, least behind first, asked in turn when Patroni turns `to` down (empty when
   * `--to` named one): Patroni refuses a candidate its leader cannot reach, and after a node restart the leader's
   * view of one member can be stale for minutes.
   */
  alternatives: SwitchoverMember[]
}

/** A member's short name or its node's name (`pg2`, `mystack-node2`), as `--to` takes it. */
function matches(member: HaMemberStatus, wanted: string): boolean {
  return member.name === wanted || member.node === wanted
}

function eligibility(member: HaMemberStatus, leader: HaMemberStatus, status: HaStatus): string | undefined {
  if (member.state !== 'streaming') return `${member.name} is ${member.state}, not streaming from ${leader.name}`
  if (member.timeline !== null && leader.timeline !== null && member.timeline !== leader.timeline) {
    return `${member.name} is on timeline ${member.timeline}, the leader on ${leader.timeline}`
  }
  if (status.durability === 'sync' && !SYNC_ROLES.has(member.role)) {
    return `${member.name} is a ${member.role}, not a synchronous standby: it may lack the last acknowledged visits`
  }
  return undefined
}

/**
 * Who hands over to whom. `to` names a member or its node; without it, the eligible standby that is least
 * behind. Refused (exit 2, nothing asked of Patroni) when there is no single leader, when the target already
 * leads, is unknown, or could not take over without losing acknowledged visits.
 */
export function planSwitchover(status: HaStatus, to: string | undefined, again: string): SwitchoverPlan {
  const leaders = status.members.filter(isLeader)
  if (leaders.length !== 1) {
    throw new EnvironmentError(
      leaders.length === 0
        ? `no member leads now${status.error ? ` (${status.error})` : ''}: there is nothing to hand over`
        : `${leaders.length} members report themselves leader: a switchover now could lose visits`,
      `see the members with: ${again}`,
    )
  }
  const [leader] = leaders
  const from = {member: leader.name, node: leader.node}
  const others = status.members.filter((m) => !isLeader(m))
  if (to !== undefined) {
    if (matches(leader, to)) {
      throw new UsageError(
        `${leader.name} on ${leader.node} already leads: nothing to switch`,
        `name another member: ${others.map((m) => `${m.name} (${m.node})`).join(', ') || 'none runs'}`,
      )
    }
    const candidate = others.find((m) => matches(m, to))
    if (!candidate) {
      throw new UsageError(
        `no member or node named '${to}'`,
        `--to takes a member or its node: ${others.map((m) => `${m.name} (${m.node})`).join(', ') || 'no replica runs'}`,
      )
    }
    const why = eligibility(candidate, leader, status)
    if (why) throw new UsageError(`cannot switch over to ${candidate.name}: ${why}`, `see the members with: ${again}`)
    return {from, to: {member: candidate.name, node: candidate.node}, alternatives: []}
  }
  const eligible = others
    .filter((m) => eligibility(m, leader, status) === undefined)
    .sort((a, b) => (a.lagBytes ?? 0) - (b.lagBytes ?? 0))
  if (eligible.length === 0) {
    const reasons = others.map((m) => eligibility(m, leader, status)).join('; ')
    throw new UsageError(
      `no member can take over from ${leader.name} without losing visits: ${reasons || 'no replica runs'}`,
      `see the members with: ${again}`,
    )
  }
  const [first, ...rest] = eligible.map((m) => ({member: m.name, node: m.node}))
  return {from, to: first, alternatives: rest}
}

/** The leader's container, where patronictl runs. */
async function memberContainer(sw: SwarmContext, member: string): Promise<{node: string; id: string} | undefined> {
  const project = sw.stack.config.project
  const [tasks, nodes] = await Promise.all([sw.manager.swarm.tasks(project), sw.manager.swarm.nodes()])
  const task = tasks.find((t) => t.serviceName === `${project}_${member}` && t.state === 'running' && t.containerId)
  return task ? {node: nodeNames(nodes).get(task.nodeId) ?? '', id: task.containerId!} : undefined
}

/** How often the switchover is asked again while the leader has not moved (see runSwitchover). */
const ASK_AGAIN_MS = 15_000

/**
 * Asks Patroni for the switchover and waits until `plan.to` leads and every other member streams from it.
 * Patroni can turn a request down and patronictl still exit 0 (a candidate not eligible yet, a change of
 * synchronous_mode the leader has not applied yet): while the leader has not moved, it is asked again every
 * 15 s (CI saw a switchover wait its whole 300 s). A timeout names the members as last seen.
 */
export async function runSwitchover(
  sw: SwarmContext,
  ha: HaSettings,
  plan: SwitchoverPlan,
  options: {timeoutMs: number; signal?: AbortSignal; again: string; onLook?: (status: HaStatus) => void},
): Promise<{status: HaStatus; to: SwitchoverMember}> {
  const container = await memberContainer(sw, plan.from.member)
  if (!container) throw new StackctlError(`no running container of ${plan.from.member}`)
  const candidates = [plan.to, ...plan.alternatives]
  let asked = 0
  // patronictl exits 0 whether Patroni switched or turned the request down: what it printed says which.
  let answer = ''
  const ask = async () => {
    const candidate = candidates[asked++ % candidates.length]
    const said = await sw.hostCli
      .nodeExec(
        container.node,
        container.id,
        [
          'patronictl',
          '-c',
          '/run/stackctl-ha/patroni.yml',
          'switchover',
          '--leader',
          plan.from.member,
          '--candidate',
          candidate.member,
          '--force',
        ],
        options.signal,
      )
      .catch((error: unknown) => (error instanceof Error ? error.message : String(error)))
    answer = `asked for ${candidate.member}: ${said.trim().split('\n').at(-1) ?? ''}`
  }
  await ask()
  let askedAt = Date.now()
  const outcome = await waitUntil<{status: HaStatus; to: SwitchoverMember}, HaStatus | string>(
    async () => {
      const now = await haStatus(sw, ha, options.signal)
      options.onLook?.(now)
      if (now.leader === plan.from.member && Date.now() - askedAt >= ASK_AGAIN_MS) {
        askedAt = Date.now()
        await ask()
      }
      const to = candidates.find((c) => c.member === now.leader)
      const streaming = now.members.filter((m) => !isLeader(m) && m.state === 'streaming').length
      return to && streaming === ha.members.length - 1 ? ready({status: now, to}) : waiting(now)
    },
    {
      timeoutMs: options.timeoutMs,
      // Each look is a docker exec into a node and a Python start there: every 2 s is enough to see a new leader.
      intervalMs: 2000,
      signal: options.signal,
      describe: `switchover from ${plan.from.member}`,
      probeError: (error) => (error instanceof Error ? error.message : String(error)),
    },
  )
  if (outcome.state === 'ready') return outcome.value
  const seen = describeLastSeen(outcome.last)
  const last = `${seen}; patronictl, last ${answer}`
  const names = candidates.map((c) => c.member).join(' or ')
  if (outcome.state === 'aborted') {
    // Patroni carries a switchover it accepted through on its own: there is nothing to undo, only to say so.
    throw new Interrupted(
      `the switchover ${plan.from.member} -> ${names} had been asked of Patroni, which finishes it on its own (last seen: ${last})`,
      'see where it stands with: ' + options.again,
    )
  }
  throw new StackctlError(
    `the switchover ${plan.from.member} -> ${names}: not within ${options.timeoutMs / 1000} s (${last})`,
  )
}

/**
 * For the failover check, which must move the leader off node 1 before it kills a node: a member may be
 * between roles for a moment (a replica not in the synchronous quorum yet, one still catching up), so the plan
 * is looked for until one exists.
 */
export async function waitForSwitchoverPlan(
  sw: SwarmContext,
  ha: HaSettings,
  options: {timeoutMs: number; signal?: AbortSignal; again: string},
): Promise<SwitchoverPlan> {
  const outcome = await waitUntil<SwitchoverPlan, string>(
    async () => {
      try {
        return ready(planSwitchover(await haStatus(sw, ha, options.signal), undefined, options.again))
      } catch (error) {
        return waiting(error instanceof Error ? error.message : String(error))
      }
    },
    {timeoutMs: options.timeoutMs, intervalMs: 2000, signal: options.signal, describe: 'a switchover candidate'},
  )
  if (outcome.state === 'ready') return outcome.value
  if (outcome.state === 'aborted') throw new Interrupted('before any switchover was asked')
  throw new StackctlError(`no member could take over within ${options.timeoutMs / 1000} s: ${outcome.last}`)
}

/** What `db switchover --json` prints. */
export interface SwitchoverReport {
  project: string
  from: SwitchoverMember
  to: SwitchoverMember
  /** From the request to the new leader with every other member streaming from it. */
  seconds: number
  timeline: number | null
  durability: HaStatus['durability']
  members: HaMemberStatus[]
}
