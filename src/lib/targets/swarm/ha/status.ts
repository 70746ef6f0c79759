/**
 * The HA database as it is now: Patroni's `/cluster` asked through a running member's container (its REST
 * port is only on the stack's overlay network), the member table and the node-loss verdict.
 */
import type {SwarmService, SwarmTask} from '../../../engine/engine.js'
import type {SwarmContext} from '../cluster/context.js'
import {stackProtection, taskStatus, type SwarmStackStatus} from '../cluster/status.js'
import {nodeNames} from '../tasks.js'
import {
  describeMembers,
  durabilityInForce,
  type HaMemberStatus,
  nodeLossVerdict,
  type NodeLossVerdict,
  parseCluster,
} from './members.js'
import {type Durability, haExpectedTasks, type HaSettings, haVolumes} from './spec.js'

export interface HaStatus {
  durability: Durability
  members: HaMemberStatus[]
  leader: string | null
  canLoseNode: NodeLossVerdict
  /** Why the members could not be asked; null when they answered. */
  error: string | null
}

const CLUSTER_PROBE = [
  'python3',
  '-c',
  // The members, and the settings in force (Patroni reads --db-durability once, at bootstrap; an edit changes it).
  "import urllib.request as u, sys; g = lambda p: u.urlopen('http://127.0.0.1:8008/' + p, timeout=5).read().decode(); sys.stdout.write('{\"cluster\": %s, \"config\": %s}' % (g('cluster'), g('config')))",
]

/**
 * `skipNodes`: members on these nodes are not asked (a node cut from the others answers with its own stale view
 * of the cluster, verify-persistence --mode partition).
 */
export async function haStatus(
  sw: SwarmContext,
  ha: HaSettings,
  signal?: AbortSignal,
  options: {skipNodes?: readonly string[]} = {},
): Promise<HaStatus> {
  const project = sw.stack.config.project
  const [tasks, nodes] = await Promise.all([sw.manager.swarm.tasks(project), sw.manager.swarm.nodes()])
  const names = nodeNames(nodes)
  const nodeOf = (member: string) => ha.members.find((m) => m.pg === member)?.node ?? '?'
  const running = tasks.filter(
    (t) =>
      t.state === 'running' &&
      t.containerId &&
      ha.members.some((m) => t.serviceName === `${project}_${m.pg}`) &&
      !options.skipNodes?.includes(names.get(t.nodeId) ?? ''),
  )
  let lastError = 'no member task is running'
  for (const task of running) {
    try {
      const text = await sw.hostCli.nodeExec(names.get(task.nodeId) ?? '', task.containerId!, CLUSTER_PROBE, signal)
      const answer = JSON.parse(text) as {cluster: unknown; config: unknown}
      const members = parseCluster(answer.cluster, nodeOf)
      const durability = durabilityInForce(answer.config) ?? ha.durability
      return {
        durability,
        members,
        leader: members.find((m) => m.role === 'leader')?.name ?? null,
        error: null,
        canLoseNode: nodeLossVerdict(members, durability),
      }
    } catch (error) {
      lastError = (error as Error).message.split('\n')[0]
    }
  }
  return {
    durability: ha.durability,
    members: [],
    leader: null,
    canLoseNode: {safe: false, reason: `unknown: the members could not be asked (${lastError})`},
    error: lastError,
  }
}

/** status --target swarm of a stack with the HA database: `db` counts the Patroni members. */
export async function haStackStatus(
  sw: SwarmContext,
  ha: HaSettings,
  seen: {services: SwarmService[]; tasks: SwarmTask[]; names: Map<string, string>; deployed: boolean; url: string},
): Promise<SwarmStackStatus> {
  const project = sw.stack.config.project
  const wanted = (service: string) => seen.services.find((s) => s.name === `${project}_${service}`)?.replicas ?? 0
  const running = (service: string) =>
    seen.tasks.filter((t) => t.serviceName === `${project}_${service}` && t.state === 'running').length
  const expected = haExpectedTasks(ha)
  const pgRunning = ha.members.reduce((sum, m) => sum + running(m.pg), 0)
  const replicas = {db: `${pgRunning}/${ha.members.length}`, app: `${running('app')}/${wanted('app')}`}
  const allRunning = Object.entries(expected).every(([service, n]) => running(service) >= n)
  const members = seen.deployed ? await haStatus(sw, ha) : undefined
  const volume = haVolumes(project, ha)
  return {
    target: 'swarm',
    project,
    endpoint: sw.target.endpoint,
    url: seen.url,
    dbNode: '',
    volume,
    replicas,
    healthy:
      seen.deployed &&
      allRunning &&
      running('app') >= wanted('app') &&
      members?.leader !== null &&
      members?.leader !== undefined,
    deployed: seen.deployed,
    tasks: seen.tasks.map((t) => taskStatus(t, project, seen.names)),
    ...(members ? {ha: members} : {}),
    protection: stackProtection(sw, ''),
  }
}

/** The member table and the verdict, for status and up. */
export function describeHa(ha: HaStatus): string[] {
  const durability =
    ha.durability === 'sync' ? 'synchronous (quorum commit, strict)' : 'asynchronous (--db-durability async)'
  return [
    `database: ${ha.members.length || '?'} Patroni members, replication ${durability}, leader ${ha.leader ?? 'none'}`,
    ...describeMembers(ha.members),
    `can lose a node now without losing acknowledged visits: ${ha.canLoseNode.reason}`,
  ]
}

/** A wait's last look at the members, in one line for its error: the members as seen, or why none answered. */
export function describeLastSeen(last: HaStatus | string | undefined): string {
  if (last === undefined) return 'no answer yet'
  if (typeof last === 'string') return last
  const members = describeMembers(last.members).map((line) => line.trim().replace(/\s+/g, ' '))
  return `leader ${last.leader ?? 'none'}; ${members.join('; ')}`
}
