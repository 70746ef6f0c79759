/**
 * `doctor --target swarm`'s judgement of the HA database: the etcd quorum from each member's own health, and
 * the Patroni members from the same `/cluster` reading `status` shows (status.ts). Pure, unit-tested; the
 * commands a fix names come from the caller, which knows the stack, the swarm and its manager.
 */
import type {CheckResult, CheckStatus} from '../../../operations/doctor/checks.js'
import {isLeader, SYNC_ROLES} from './members.js'
import type {HaStatus} from './status.js'

/** One etcd member as doctor found it: asked inside its own container, or why it could not be asked. */
export interface EtcdMemberHealth {
  name: string
  node: string
  /** down: no running task, its node down, or no answer; unhealthy: it answers, without a leader or quorum. */
  state: 'healthy' | 'unhealthy' | 'down'
  /** Why not healthy: no running task, its node down, no answer, etcd's own reason (`RAFT NO LEADER`). */
  problem?: string
}

/**
 * Patroni promotes no replica further behind than this (maximum_lag_on_failover in the image's bootstrap
 * configuration, templates/images/patroni/stackctl-ha).
 */
export const MAX_LAG_ON_FAILOVER = 1_048_576

const RANK: Record<CheckStatus, number> = {ok: 0, warn: 1, fail: 2}

function worst(statuses: readonly CheckStatus[]): CheckStatus {
  return statuses.reduce<CheckStatus>((a, b) => (RANK[b] > RANK[a] ? b : a), 'ok')
}

function named(members: readonly EtcdMemberHealth[]): string {
  return members.map((m) => `${m.name} on ${m.node} (${m.problem ?? m.state})`).join(', ')
}

/**
 * etcd keeps a store only while a majority of its members agree: 3 of 3 is ok, 2 of 3 holds (warn: one more
 * loss stops every leader change), fewer is a failure — Patroni can then neither fail over nor switch over. A
 * member that answers but is unhealthy (no leader: the others are gone) is named apart from those down, and the
 * fix restarts only those down (restarting one that answers brings no quorum back).
 */
export function etcdQuorumCheck(members: readonly EtcdMemberHealth[], fix: (down: string[]) => string): CheckResult {
  const total = members.length
  const healthy = members.filter((m) => m.state === 'healthy')
  const down = members.filter((m) => m.state === 'down')
  const unhealthy = members.filter((m) => m.state === 'unhealthy')
  const quorum = Math.floor(total / 2) + 1
  if (healthy.length === total) {
    return {
      name: 'etcd',
      status: 'ok',
      detail: `${total}/${total} members healthy (${members.map((m) => m.name).join(', ')}), quorum ${quorum}`,
    }
  }
  const which = [
    ...(down.length > 0 ? [`down: ${named(down)}`] : []),
    ...(unhealthy.length > 0 ? [`answering but unhealthy: ${named(unhealthy)}`] : []),
  ].join('; ')
  const restart = fix((down.length > 0 ? down : unhealthy).map((m) => m.name))
  if (healthy.length >= quorum) {
    const spare = healthy.length - quorum
    return {
      name: 'etcd',
      status: 'warn',
      detail: `${healthy.length}/${total} members healthy: quorum holds; ${spare === 0 ? 'losing one more member stops failover' : `${spare} more may be lost`}; ${which}`,
      fix: restart,
    }
  }
  return {
    name: 'etcd',
    status: 'fail',
    detail: `${healthy.length}/${total} members healthy, below the quorum of ${quorum}: Patroni can neither fail over nor switch over; ${which}`,
    fix: restart,
  }
}

/** The commands a Patroni finding names: restart a member's task, read its logs, look at the members again. */
export interface PatroniFixes {
  restart(member: string): string
  logs(member: string): string
  status: string
}

interface Finding {
  status: CheckStatus
  text: string
  fix?: string
}

function mib(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`
}

/**
 * Exactly one leader; every other expected member streaming from it on its timeline and within the lag Patroni
 * would still promote; with synchronous durability, at least one synchronous standby (else writes wait). Each
 * finding says whether acknowledged visits are at risk.
 */
export function patroniMembersCheck(status: HaStatus, expected: readonly string[], fixes: PatroniFixes): CheckResult {
  const name = 'patroni'
  if (status.error !== null) {
    return {
      name,
      status: 'fail',
      detail: `no Patroni member answered (${status.error}): the database's state is unknown`,
      fix: fixes.logs(expected[0] ?? 'pg1'),
    }
  }
  const leaders = status.members.filter(isLeader)
  if (leaders.length === 0) {
    const seen = status.members.map((m) => `${m.name} ${m.state}`).join(', ') || 'no member'
    return {
      name,
      status: 'fail',
      detail: `no leader (${seen}): writes fail until Patroni elects one; a leader needs the etcd quorum`,
      fix: fixes.logs(status.members[0]?.name ?? expected[0] ?? 'pg1'),
    }
  }
  if (leaders.length > 1) {
    return {
      name,
      status: 'fail',
      detail: `${leaders.length} members report themselves leader (${leaders.map((l) => l.name).join(', ')}): acknowledged visits are at risk`,
      fix: fixes.status,
    }
  }
  const [leader] = leaders
  const findings: Finding[] = []
  for (const member of expected.filter((m) => !status.members.some((s) => s.name === m))) {
    findings.push({
      status: 'warn',
      text: `${member} is not in Patroni's cluster (not running)`,
      fix: fixes.logs(member),
    })
  }
  const replicas = status.members.filter((m) => !isLeader(m))
  const streaming = replicas.filter((m) => {
    if (m.state !== 'streaming') {
      findings.push({status: 'warn', text: `${m.name} is ${m.state}, not streaming`, fix: fixes.restart(m.name)})
      return false
    }
    if (m.timeline !== null && leader.timeline !== null && m.timeline !== leader.timeline) {
      findings.push({
        status: 'warn',
        text: `${m.name} is on timeline ${m.timeline}, ${leader.name} on ${leader.timeline}`,
        fix: fixes.restart(m.name),
      })
      return false
    }
    if (m.lagBytes !== null && m.lagBytes > MAX_LAG_ON_FAILOVER) {
      findings.push({
        status: 'warn',
        text: `${m.name} is ${mib(m.lagBytes)} behind, more than Patroni promotes (${mib(MAX_LAG_ON_FAILOVER)})`,
      })
    }
    return true
  })
  const lags = streaming.map((m) => `${m.name} ${m.role} lag ${m.lagBytes === null ? '?' : `${m.lagBytes} B`}`)
  const head = `${leader.name} leads on ${leader.node} (timeline ${leader.timeline ?? '?'}); ${lags.length > 0 ? `streaming: ${lags.join(', ')}` : 'no replica streams'}`
  if (status.durability === 'sync') {
    const sync = streaming.filter((m) => SYNC_ROLES.has(m.role))
    if (sync.length === 0) {
      findings.push({
        status: 'fail',
        text: `no synchronous standby streams from ${leader.name}: writes wait until one does (acknowledged visits are not at risk, new ones are not acknowledged)`,
        fix:
          streaming.length > 0 ? fixes.status : replicas[0] ? fixes.restart(replicas[0].name) : fixes.logs(leader.name),
      })
    } else if (findings.length > 0) {
      findings.push({
        status: 'warn',
        text: `acknowledged visits are safe, also on ${sync.map((m) => m.name).join(' or ')} (quorum commit); one more lost member stops writes until one returns`,
      })
    }
  } else if (streaming.length === 0) {
    findings.push({
      status: 'fail',
      text: `no replica streams and replication is asynchronous: losing ${leader.name}'s node loses every visit since they stopped`,
      fix: replicas[0] ? fixes.restart(replicas[0].name) : fixes.logs(leader.name),
    })
  } else {
    findings.push({
      status: 'ok',
      text: 'replication is asynchronous (--db-durability async): a failover can lose the last acknowledged visits',
    })
  }
  const verdict = worst(findings.map((f) => f.status))
  if (verdict === 'ok' && status.durability === 'sync') {
    findings.push({status: 'ok', text: 'synchronous quorum commit: every acknowledged visit is on two members'})
  }
  const fixesFound = [...new Set(findings.flatMap((f) => (f.fix ? [f.fix] : [])))]
  return {
    name,
    status: verdict,
    detail: [head, ...findings.map((f) => f.text)].join('; '),
    ...(fixesFound.length > 0 && verdict !== 'ok' ? {fix: fixesFound.join(' ; ')} : {}),
  }
}
