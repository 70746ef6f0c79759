/**
 * `stackctl volume inspect --target swarm`: the data volume on the node the db is pinned to, read through that
 * node's engine (a local swarm's nodes each have an API socket on this machine; elsewhere only the manager's
 * own volumes can be reached). Nothing is changed.
 */
import {createEngine} from '../engine/dockerode-engine.js'
import {StackctlError, UsageError} from '../errors.js'
import {dbNodeLabel} from '../swarm/db-node.js'
import {inspectVolume, type VolumeInspection} from '../volume/inspect.js'
import {assertManager, type SwarmContext} from './context.js'

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
        suggestion: 'deploy it with stackctl up --target swarm',
      },
    )
  }
  const endpoint =
    sw.target.local?.nodeEndpoints?.[db.hostname] ?? (db.id === state.nodeId ? sw.target.endpoint : undefined)
  if (!endpoint) {
    throw new UsageError(
      `the volume is on ${db.hostname}, whose engine cannot be reached from here`,
      `run stackctl volume inspect --target swarm --docker-host <${db.hostname}'s engine>`,
    )
  }
  const inspection = await inspectVolume({...sw.stack, engine: createEngine({DOCKER_HOST: endpoint})})
  return {
    ...inspection,
    node: db.hostname,
    // Swarm names a task's container <stack>_<service>.<slot>.<task id>; it has no Compose labels.
    usedByDb: inspection.usedBy.some((u) => u.name.startsWith(`${project}_db.`)),
  }
}
