/** `stackctl status --target swarm`: the stack's tasks as the manager sees them, with their nodes. */
import {volumeName} from '../../../model/config/stack-config.js'
import type {SwarmTask} from '../../../engine/engine.js'
import {nodeNames} from '../tasks.js'
import {assertManager, swarmCommand, type SwarmContext} from './context.js'
import {describeHa, haStackStatus, type HaStatus} from '../ha/status.js'
import {haVolumes} from '../ha/spec.js'
import {describeProtection, swarmProtection, type SwarmProtection} from '../protection.js'

export interface TaskStatus {
  service: string
  slot: number | null
  node: string
  state: string
  /** Swarm holds a task with a healthcheck in `starting` until the check passes. */
  health: 'healthy' | 'starting' | 'none'
  error: string
}

export interface SwarmStackStatus {
  target: 'swarm'
  project: string
  endpoint: string
  url: string
  dbNode: string
  volume: string
  replicas: {db: string; app: string}
  /** Every service has its replicas running and healthy. */
  healthy: boolean
  deployed: boolean
  tasks: TaskStatus[]
  /** The HA database (--db-replicas 3): its members, leader and node-loss verdict. */
  ha?: HaStatus
  /** No WAL archiving on a swarm: what holds the data instead, and how to copy it off the swarm. */
  protection: SwarmProtection
}

export async function swarmStackStatus(sw: SwarmContext): Promise<SwarmStackStatus> {
  const {project} = sw.stack.config
  await assertManager(sw)
  const [services, tasks, nodes] = await Promise.all([
    sw.manager.swarm.services(project),
    sw.manager.swarm.tasks(project),
    sw.manager.swarm.nodes(),
  ])
  const names = nodeNames(nodes)
  const current = tasks.filter((t) => t.desiredState === 'running' || t.desiredState === 'ready')
  const wanted = (service: string) => services.find((s) => s.name === `${project}_${service}`)?.replicas ?? 0
  const running = (service: string) =>
    current.filter((t) => t.serviceName === `${project}_${service}` && t.state === 'running').length
  const replicas = {db: `${running('db')}/${wanted('db')}`, app: `${running('app')}/${wanted('app')}`}
  const deployed = services.length > 0
  const managerAddr = nodes.find((n) => n.role === 'manager')?.addr
  const ha = sw.swarmState?.ha
  if (ha) return haStackStatus(sw, ha, {services, tasks: current, names, deployed, url: url(sw, managerAddr)})
  const dbNode = nodes.find((n) => n.labels[`io.stackctl.db.${project}`] === 'true')?.hostname ?? ''
  return {
    target: 'swarm',
    project,
    endpoint: sw.target.endpoint,
    url: url(sw, nodes.find((n) => n.role === 'manager')?.addr),
    dbNode,
    volume: volumeName(project),
    replicas,
    healthy: deployed && running('db') >= wanted('db') && running('app') >= wanted('app') && wanted('db') > 0,
    deployed,
    tasks: current.map((t) => taskStatus(t, project, names)),
    protection: stackProtection(sw, dbNode),
  }
}

/** What protects this stack's data, with the dump command for its own flags (--dir, --project-name, --docker-host). */
export function stackProtection(
  sw: Pick<SwarmContext, 'stack' | 'target' | 'swarmState'>,
  dbNode: string,
): SwarmProtection {
  const {project} = sw.stack.config
  const ha = sw.swarmState?.ha
  return swarmProtection({
    ha: ha !== undefined,
    dbNode,
    volume: ha ? haVolumes(project, ha) : volumeName(project),
    backupCommand: swarmCommand(sw, 'volume backup'),
  })
}

export function taskStatus(task: SwarmTask, project: string, names: Map<string, string>): TaskStatus {
  return {
    service: task.serviceName.replace(`${project}_`, ''),
    slot: task.slot ?? null,
    node: names.get(task.nodeId) ?? task.nodeId,
    state: task.state,
    health: task.state === 'running' ? 'healthy' : task.state === 'starting' ? 'starting' : 'none',
    error: task.error || (task.state === 'running' ? '' : task.message),
  }
}

/** A local swarm forwards 127.0.0.1; elsewhere the manager's address answers (with a host-mode port, when it runs a task). */
function url(sw: SwarmContext, managerAddr: string | undefined): string {
  if (sw.target.local) return `http://127.0.0.1:${sw.target.local.port}`
  return `http://${managerAddr || 'MANAGER'}:${sw.stack.config.port}`
}

export function describeSwarmStatus(status: SwarmStackStatus): string[] {
  if (!status.deployed) return [`stack '${status.project}' is not deployed on ${status.endpoint}`]
  return [...deployedLines(status), ...describeProtection(status.protection)]
}

function deployedLines(status: SwarmStackStatus): string[] {
  return [
    `stack '${status.project}' on ${status.endpoint}: db ${status.replicas.db}, app ${status.replicas.app}${status.healthy ? ', healthy' : ''}`,
    status.ha
      ? `url: ${status.url}   volumes: ${status.volume}`
      : `url: ${status.url}   db node: ${status.dbNode || '-'}   volume: ${status.volume}`,
    ...(status.ha ? describeHa(status.ha) : []),
    ...status.tasks.map(
      (t) =>
        `  ${`${t.service}.${t.slot ?? '-'}`.padEnd(8)} ${t.node.padEnd(24)} ${t.state.padEnd(10)} ${t.health}${t.error ? `  ${t.error}` : ''}`,
    ),
  ]
}
