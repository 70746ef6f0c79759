/**
 * The HA database's members as `status --target swarm` shows them, from Patroni's REST `/cluster` answer, and
 * the one judgement users need: can the stack lose a node right now without losing an acknowledged visit.
 * Pure, unit-tested.
 */
import type {Durability} from './spec.js'

export interface HaMemberStatus {
  name: string
  /** leader | quorum_standby | sync_standby | replica | … as Patroni names it. */
  role: string
  /** running | streaming | starting | stopped | … */
  state: string
  timeline: number | null
  /** Bytes of WAL the member is behind the leader; null for the leader or when Patroni does not know. */
  lagBytes: number | null
  node: string
}

export interface NodeLossVerdict {
  safe: boolean
  reason: string
}

interface PatroniMember {
  name?: unknown
  role?: unknown
  state?: unknown
  timeline?: unknown
  lag?: unknown
}

/** Patroni's /cluster JSON → one row per member, with the node each runs on (from the stack's placement). */
export function parseCluster(json: unknown, nodeOf: (member: string) => string): HaMemberStatus[] {
  const members = (json as {members?: PatroniMember[]} | null)?.members
  if (!Array.isArray(members)) return []
  return members.map((m) => {
    const name = String(m.name ?? '?')
    return {
      name,
      role: String(m.role ?? 'unknown'),
      state: String(m.state ?? 'unknown'),
      timeline: typeof m.timeline === 'number' ? m.timeline : null,
      lagBytes: typeof m.lag === 'number' ? m.lag : null,
      node: nodeOf(name),
    }
  })
}

/** The roles of a member in the synchronous quorum: Patroni promotes only one of them while synchronous mode is on. */
export const SYNC_ROLES: ReadonlySet<string> = new Set(['quorum_standby', 'sync_standby'])

export function isLeader(member: HaMemberStatus): boolean {
  return member.role === 'leader' || member.role === 'standby_leader'
}

/**
 * With quorum commit every acknowledged visit is on the leader and on at least one synchronous standby, and
 * Patroni promotes only a member of that quorum: losing any one node loses nothing while one such standby
 * streams on the leader's timeline. Asynchronous replication loses what the replicas have not received yet.
 */
export function nodeLossVerdict(members: readonly HaMemberStatus[], durability: Durability): NodeLossVerdict {
  const leaders = members.filter(isLeader)
  if (leaders.length === 0) return {safe: false, reason: 'no leader: the database is not accepting writes'}
  if (leaders.length > 1)
    return {safe: false, reason: `${leaders.length} leaders: ${leaders.map((l) => l.name).join(', ')}`}
  const [leader] = leaders
  const streaming = members.filter(
    (m) => !isLeader(m) && m.state === 'streaming' && (m.timeline === null || m.timeline === leader.timeline),
  )
  if (durability === 'async') {
    return {
      safe: false,
      reason: 'no: replication is asynchronous (--db-durability async), losing the leader can lose its last visits',
    }
  }
  const sync = streaming.filter((m) => SYNC_ROLES.has(m.role))
  if (sync.length === 0) {
    return {
      safe: false,
      reason: `no: no synchronous standby streams from ${leader.name} (writes wait until one does)`,
    }
  }
  const spare = streaming.length >= 2 ? '' : '; one more loss would stop writes until a member returns'
  return {
    safe: true,
    reason: `yes: every acknowledged visit is also on ${sync.map((m) => m.name).join(' or ')} (quorum commit)${spare}`,
  }
}

export function describeMembers(members: readonly HaMemberStatus[]): string[] {
  return members.map(
    (m) =>
      `  ${m.name.padEnd(5)} ${m.role.padEnd(15)} ${m.state.padEnd(10)} tl ${String(m.timeline ?? '-').padEnd(3)} lag ${m.lagBytes === null ? '-' : `${m.lagBytes} B`}`.padEnd(
        58,
      ) + ` ${m.node}`,
  )
}

/** Patroni's dynamic configuration (GET /config) → the durability in force; undefined when it cannot tell. */
export function durabilityInForce(config: unknown): Durability | undefined {
  const mode = (config as {synchronous_mode?: unknown} | null)?.synchronous_mode
  if (mode === undefined) return undefined
  return mode === true || mode === 'on' || mode === 'quorum' ? 'sync' : 'async'
}
