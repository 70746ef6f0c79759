/**
 * The high-availability database tier of the swarm target as data (`up --target swarm --db-replicas 3`): its
 * service names, the member each node runs, and the durability setting. Pure.
 */
import {UsageError} from '../../../errors.js'

/** Members of the etcd and Patroni clusters: 3 keeps a quorum (2 of 3) through the loss of any one node. */
export const HA_MEMBERS = 3
export const DB_REPLICAS = [1, HA_MEMBERS] as const
export const DURABILITIES = ['sync', 'async'] as const
export type Durability = (typeof DURABILITIES)[number]

/** The image holding etcd, Patroni with PostgreSQL and HAProxy (images build --only patroni). */
export const HA_IMAGE_NAME = 'patroni'
/** The service the API connects to: HAProxy, forwarding to the current leader. */
export const ROUTER_SERVICE = 'router'

export interface HaMember {
  /** Patroni member and swarm service name: pg1.. */
  pg: string
  /** etcd member and swarm service name: etcd1.. */
  etcd: string
  /** The node (host name) it is pinned to, where its volumes live. */
  node: string
}

export interface HaSettings {
  members: HaMember[]
  durability: Durability
  /**
   * Set when the cluster was made from a single db's data (`up --db-replicas 3` over a single-db stack): the
   * node whose volume seeded the first member. That volume is kept as it was.
   */
  seededFrom?: string
}

export function pgService(index: number): string {
  return `pg${index}`
}

export function etcdService(index: number): string {
  return `etcd${index}`
}

export function pgVolume(index: number): string {
  return `pg${index}_data`
}

/** The members' data volumes, as `status` names them. */
export function haVolumes(project: string, ha: HaSettings): string {
  return ha.members.map((_, i) => `${project}_${pgVolume(i + 1)}`).join(', ')
}

export function etcdVolume(index: number): string {
  return `etcd${index}_data`
}

/** Every service of the HA tier with the task count each must reach. */
export function haExpectedTasks(settings: HaSettings): Record<string, number> {
  const expected: Record<string, number> = {}
  for (const member of settings.members) {
    expected[member.etcd] = 1
    expected[member.pg] = 1
  }
  expected[ROUTER_SERVICE] = settings.members.length
  return expected
}

/**
 * One member per node, pinned there for good: the nodes remembered from the last deploy keep their members
 * (their volumes hold the data); a new HA stack takes the first three nodes by host name.
 */
export function placeMembers(input: {
  nodes: readonly string[]
  remembered?: readonly string[]
  /** The node the first member must run on (the one holding the data it is seeded from). */
  first?: string
}): HaMember[] {
  const sorted = [...input.nodes].sort()
  const byName = input.first ? [input.first, ...sorted.filter((n) => n !== input.first)] : sorted
  const chosen = input.remembered?.length === HA_MEMBERS ? [...input.remembered] : byName
  const missing = chosen.filter((node) => !input.nodes.includes(node))
  if (missing.length > 0) {
    throw new UsageError(
      `the database members are pinned to ${missing.join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not in the swarm; their data is on ${missing.length === 1 ? 'that node' : 'those nodes'}`,
      'bring the node back into the swarm (stackctl swarm up starts stopped local nodes); nothing was changed',
    )
  }
  if (chosen.length < HA_MEMBERS) {
    throw new UsageError(
      `--db-replicas ${HA_MEMBERS} needs ${HA_MEMBERS} swarm nodes (one member per node), the swarm has ${input.nodes.length}`,
      `start a swarm of ${HA_MEMBERS} nodes (stackctl swarm up --nodes ${HA_MEMBERS}) or omit --db-replicas`,
    )
  }
  return chosen.slice(0, HA_MEMBERS).map((node, i) => ({pg: pgService(i + 1), etcd: etcdService(i + 1), node}))
}

/**
 * The database tier this deploy makes: undefined for the single pinned db, else the HA settings. What the last
 * deploy made stays unless asked otherwise. A single db holding data grows into 3 members only when asked
 * (--db-replicas 3): its data seeds the first member, on its node (seededFrom), and its volume is kept. The way
 * back is never taken: the members' data would be left behind.
 */
export function chooseHa(input: {
  dbReplicas?: number
  durability?: Durability
  remembered?: HaSettings
  /** Nodes holding the single db's volume. */
  singleDbVolumeOn: readonly string[]
  /**
   * The node a single db was pinned to by the last deploy, on a swarm whose nodes' volumes cannot be looked
   * into from here (not a local swarm): its data cannot be seen, so it cannot seed the members.
   */
  singleDbUnseenOn?: string
  nodes: readonly string[]
}): HaSettings | undefined {
  const replicas = input.dbReplicas ?? (input.remembered ? HA_MEMBERS : 1)
  if (!(DB_REPLICAS as readonly number[]).includes(replicas)) {
    throw new UsageError(`invalid --db-replicas ${replicas}`, `use --db-replicas 1 or --db-replicas ${HA_MEMBERS}`)
  }
  if (replicas === 1) {
    if (input.durability !== undefined) {
      throw new UsageError(
        '--db-durability applies to --db-replicas 3 only',
        'omit --db-durability, or add --db-replicas 3',
      )
    }
    if (input.remembered) {
      throw new UsageError(
        `the database of this stack runs as ${HA_MEMBERS} Patroni members; stackctl does not turn it back into one pinned db (its data is on the members' volumes)`,
        `omit --db-replicas (or pass --db-replicas ${HA_MEMBERS}); nothing was changed`,
      )
    }
    return undefined
  }
  if (!input.remembered && input.singleDbVolumeOn.length > 1) {
    throw new UsageError(
      `the single database's volume is on ${input.singleDbVolumeOn.join(' and ')}; stackctl cannot tell which one holds the stack's visits to seed ${HA_MEMBERS} members from`,
      'omit --db-replicas to keep the single db; nothing was changed',
    )
  }
  if (!input.remembered && input.singleDbUnseenOn) {
    throw new UsageError(
      `the single database of this stack was pinned to ${input.singleDbUnseenOn}, whose volumes stackctl cannot look into on this swarm (only a local swarm's); a new cluster would not hold its visits`,
      'omit --db-replicas to keep the single db; nothing was changed',
    )
  }
  const seededFrom = input.remembered ? input.remembered.seededFrom : input.singleDbVolumeOn[0]
  const durability = input.durability ?? input.remembered?.durability ?? 'sync'
  if (input.remembered && durability !== input.remembered.durability) {
    // Patroni reads its bootstrap settings once, when the cluster is made: a new stack file would not change them.
    throw new UsageError(
      `this stack's database runs with --db-durability ${input.remembered.durability}; changing it on a running cluster is not supported yet`,
      `omit --db-durability (or pass --db-durability ${input.remembered.durability}); nothing was changed`,
    )
  }
  const members = placeMembers({
    nodes: input.nodes,
    remembered: input.remembered?.members.map((m) => m.node),
    first: seededFrom,
  })
  return {members, durability, ...(seededFrom ? {seededFrom} : {})}
}
