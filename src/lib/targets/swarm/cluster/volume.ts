/**
 * `stackctl volume inspect|backup|restore --target swarm`: the data volume on the node the db is pinned to (on an HA
 * stack, backup and restore use the current leader's), reached through that node's engine (a local swarm's nodes
 * each have an API socket on this machine; elsewhere only the manager's own volumes can be reached). inspect and
 * backup change nothing.
 */
import {StackctlError, UsageError} from '../../../errors.js'
import {dbNodeLabel} from '../db-node.js'
import {LABELS} from '../../../model/config/labels.js'
import {backupFromContainer, type BackupOptions, type BackupResult} from '../../../operations/backup-restore/backup.js'
import {inspectVolume, type VolumeInspection} from '../../../operations/backup-restore/inspect.js'
import {
  restoreIntoContainer,
  type RestoreOptions,
  type RestoreResult,
} from '../../../operations/backup-restore/restore.js'
import type {Engine} from '../../../engine/engine.js'
import {execAs} from '../../../engine/exec-as.js'
import {DB_OS_USER} from '../../../model/config/stack-config.js'
import {describeLastSeen, haStatus} from '../ha/status.js'
import {type HaSettings, pgVolume} from '../ha/spec.js'
import {assertManager, swarmCommand, type SwarmContext} from './context.js'

export interface SwarmVolumeInspection extends VolumeInspection {
  /** The node whose engine holds the volume. */
  node: string
}

export async function inspectSwarmVolume(sw: SwarmContext): Promise<SwarmVolumeInspection> {
  await assertManager(sw)
  const {project} = sw.stack.config
  const [nodes, state] = await Promise.all([sw.manager.swarm.nodes(), sw.manager.swarm.state()])
  const db = nodes.find((n) => n.labels[dbNodeLabel(project)] === 'true')
  if (!db) {
    throw new StackctlError(
      `the db of '${project}' is not pinned to a node of this swarm, so it has no data volume here`,
      {
        suggestion: `deploy it with ${swarmCommand(sw, 'up')}`,
      },
    )
  }
  const endpoint = nodeEndpoint(sw, db.hostname, db.id, state.nodeId)
  const inspection = await inspectVolume({...sw.stack, engine: sw.engines.at(endpoint)})
  return {
    ...inspection,
    node: db.hostname,
    // Swarm names a task's container <stack>_<service>.<slot>.<task id>; it has no Compose labels.
    usedByDb: inspection.usedBy.some((u) => u.name.startsWith(`${project}_db.`)),
  }
}

/**
 * `stackctl volume backup --target swarm`: the same consistent pg_dump and record as for Compose, from the db
 * task's container (on an HA stack, the current leader's), through the engine of the node it runs on. The stack
 * must be deployed from this directory.
 */
export async function backupSwarmVolume(sw: SwarmContext, options: BackupOptions): Promise<BackupResult> {
  const started = Date.now()
  const db = await swarmDb(sw, 'back up', options.signal)
  sw.progress(`backup: from ${db.task} on ${db.node}${db.leader ? ' (the leader)' : ''}`)
  return backupFromContainer(dbStack(sw, db), db.containerId, options, started)
}

/**
 * `stackctl volume restore --target swarm`: the same checked restore as for Compose (a fresh database, proven a
 * visit-tracker's with the recorded count, then swapped in in one transaction), into the db task's container
 * through the engine of its node. On an HA stack that is the current leader: Patroni's replication carries the
 * restored database to the other members (with synchronous replication, every commit of it is on two members
 * before it is acknowledged). The API replicas carry on without a restart.
 */
export async function restoreSwarmVolume(sw: SwarmContext, options: RestoreOptions): Promise<RestoreResult> {
  const started = Date.now()
  const db = await swarmDb(sw, 'restore', options.signal)
  sw.progress(
    `restore: into ${db.task} on ${db.node}${db.leader ? ' (the leader; the other members receive it by replication)' : ''}`,
  )
  return restoreIntoContainer(dbStack(sw, db), db.containerId, options, started)
}

interface SwarmDb {
  containerId: string
  task: string
  node: string
  engine: Engine
  /** The volume the database is in. */
  volume: string
  /** The HA database's leading member (pg1..); undefined for the single db. */
  leader?: string
}

/** The stack as backup and restore see it: the db's node engine, and the volume it writes in (the leader's on HA). */
function dbStack(sw: SwarmContext, db: SwarmDb) {
  return {...sw.stack, engine: db.engine, config: {...sw.stack.config, volume: db.volume}}
}

/** The running db task of this directory's swarm stack (the HA leader's), and the engine of the node it runs on. */
async function swarmDb(sw: SwarmContext, action: string, signal?: AbortSignal): Promise<SwarmDb> {
  await assertManager(sw)
  const {project} = sw.stack.config
  const services = await sw.manager.swarm.services(project)
  if (services.length === 0 || services.some((s) => s.labels[LABELS.stackId] !== sw.swarmState?.stackId)) {
    throw new StackctlError(
      services.length === 0
        ? `stack '${project}' is not deployed on ${sw.target.endpoint}, so there is no database to ${action}`
        : `stack '${project}' on ${sw.target.endpoint} was not deployed from ${sw.stack.paths.dir}`,
      {
        exitCode: services.length === 0 ? 1 : 2,
        suggestion:
          services.length === 0
            ? `deploy it with ${swarmCommand(sw, 'up')}`
            : `run this from the stack directory it was deployed from (its --dir), or deploy this one with ${swarmCommand(sw, 'up')}`,
      },
    )
  }
  const ha = sw.swarmState?.ha
  const leader = ha ? await leadingMember(sw, ha, action, signal) : undefined
  const service = `${project}_${leader ?? 'db'}`
  const [tasks, nodes] = await Promise.all([sw.manager.swarm.tasks(project), sw.manager.swarm.nodes()])
  const task = tasks.find((t) => t.serviceName === service && t.state === 'running' && t.containerId)
  if (!task?.containerId) {
    throw new StackctlError(
      leader
        ? `${leader}, the leader of '${project}', has no running task on the swarm`
        : `the db of '${project}' is not running on the swarm`,
      {suggestion: `see ${swarmCommand(sw, 'status')}`},
    )
  }
  const node = nodes.find((n) => n.id === task.nodeId)?.hostname ?? task.nodeId
  const engine = sw.engines.at(nodeEndpoint(sw, node, task.nodeId, (await sw.manager.swarm.state()).nodeId))
  const index = ha?.members.findIndex((m) => m.pg === leader) ?? -1
  return {
    containerId: task.containerId,
    task: `${task.serviceName}.${task.slot ?? ''}`,
    node,
    // The members' PostgreSQL takes local sessions as the postgres user only (peer authentication).
    engine: leader ? execAs(engine, DB_OS_USER) : engine,
    volume: index >= 0 ? `${project}_${pgVolume(index + 1)}` : sw.stack.config.volume,
    leader,
  }
}

/** The HA database's leader as Patroni names it (status asks the same way), or why there is none to use now. */
async function leadingMember(sw: SwarmContext, ha: HaSettings, action: string, signal?: AbortSignal) {
  const status = await haStatus(sw, ha, signal)
  if (status.leader) return status.leader
  throw new StackctlError(
    `cannot ${action}: no member of the HA database of '${sw.stack.config.project}' leads now (${status.error ?? describeLastSeen(status)})`,
    {suggestion: `see ${swarmCommand(sw, 'status')}; run this again once a member leads`},
  )
}

function nodeEndpoint(sw: SwarmContext, hostname: string, nodeId: string, managerId: string): string {
  const endpoint = sw.target.local?.nodeEndpoints?.[hostname] ?? (nodeId === managerId ? sw.target.endpoint : undefined)
  if (!endpoint) {
    throw new UsageError(
      `the db runs on ${hostname}, whose engine cannot be reached from here`,
      `run the command with --docker-host <${hostname}'s engine>`,
    )
  }
  return endpoint
}
