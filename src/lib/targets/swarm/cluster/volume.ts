/**
 * `stackctl volume inspect|backup|restore --target swarm`: the data volume on the node the db is pinned to, read through that
 * node's engine (a local swarm's nodes each have an API socket on this machine; elsewhere only the manager's
 * own volumes can be reached). Nothing is changed.
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
 * task's container, through the engine of the node it runs on. The stack must be deployed from this directory.
 */
export async function backupSwarmVolume(sw: SwarmContext, options: BackupOptions): Promise<BackupResult> {
  const started = Date.now()
  const db = await swarmDb(sw, 'back up')
  sw.progress(`backup: from ${db.task} on ${db.node}`)
  return backupFromContainer({...sw.stack, engine: db.engine}, db.containerId, options, started)
}

/**
 * `stackctl volume restore --target swarm`: the same checked restore as for Compose (a fresh database, proven a
 * visit-tracker's with the recorded count, then swapped in in one transaction), into the db task's container
 * through the engine of its node. The API replicas carry on without a restart.
 */
export async function restoreSwarmVolume(sw: SwarmContext, options: RestoreOptions): Promise<RestoreResult> {
  const started = Date.now()
  const db = await swarmDb(sw, 'restore')
  sw.progress(`restore: into ${db.task} on ${db.node}`)
  return restoreIntoContainer({...sw.stack, engine: db.engine}, db.containerId, options, started)
}

/** The running db task of this directory's swarm stack, and the engine of the node it runs on. */
async function swarmDb(
  sw: SwarmContext,
  action: string,
): Promise<{containerId: string; task: string; node: string; engine: Engine}> {
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
  const [tasks, nodes] = await Promise.all([sw.manager.swarm.tasks(project), sw.manager.swarm.nodes()])
  const task = tasks.find((t) => t.serviceName === `${project}_db` && t.state === 'running' && t.containerId)
  if (!task?.containerId) {
    throw new StackctlError(`the db of '${project}' is not running on the swarm`, {
      suggestion: `see ${swarmCommand(sw, 'status')}`,
    })
  }
  const node = nodes.find((n) => n.id === task.nodeId)?.hostname ?? task.nodeId
  const engine = sw.engines.at(nodeEndpoint(sw, node, task.nodeId, (await sw.manager.swarm.state()).nodeId))
  return {containerId: task.containerId, task: `${task.serviceName}.${task.slot ?? ''}`, node, engine}
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
