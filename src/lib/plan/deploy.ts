/**
 * The plan of `up --target swarm` from one look at the swarm (its nodes, where the data volume is, whether the
 * API image is built) and what is asked. Pure. The db's node comes from chooseDbNode (a pin is set only where
 * none exists, never moved); every deploy is a `docker stack deploy` that the swarm converges, then waited for.
 */
import type {SwarmNode} from '../engine/engine.js'
import {chooseDbNode, type DbNodeChoice} from '../targets/swarm/db-node.js'
import type {PlanStep} from './steps.js'

export interface SwarmObservation {
  nodes: readonly SwarmNode[]
  /** The manager stackctl talks to. */
  managerId: string
  /** Nodes that hold the project's data volume (when that can be seen: a local swarm). */
  holders: readonly string[]
  /** The API image is already built here; undefined before its tag is known (the plan then builds it unless present). */
  appImagePresent?: boolean
  /** A deploy of this stack was recorded (swarm.json). */
  deployedBefore: boolean
}

export interface DesiredDeploy {
  project: string
  /** Image references, once known (the API's tag comes from its bundle). */
  appImage?: string
  postgresImage?: string
  /** --db-node. */
  dbNode?: string
  /** --registry: images are pushed there; otherwise loaded into each (local) node. */
  registry?: string
  /** API replicas, when already known. */
  replicas?: number
}

export interface DeployPlan {
  db: DbNodeChoice
  steps: PlanStep[]
}

export function planDeploy(observed: SwarmObservation, desired: DesiredDeploy): DeployPlan {
  const db = chooseDbNode({
    project: desired.project,
    nodes: observed.nodes,
    requested: desired.dbNode,
    holders: observed.holders,
    managerId: observed.managerId,
  })
  const steps: PlanStep[] = []
  const appImage = desired.appImage ?? 'the API image'
  const postgresImage = desired.postgresImage ?? 'the PostgreSQL image'
  if (observed.appImagePresent !== true) {
    const cause = observed.appImagePresent === false ? 'not built yet' : 'unless already built'
    steps.push({kind: 'build-image', service: appImage, cause})
  }
  if (desired.registry) {
    steps.push({
      kind: 'distribute-images',
      service: desired.registry,
      cause: `push ${postgresImage} and ${appImage}: every node pulls from the registry`,
    })
  } else {
    const all = observed.nodes.map((n) => n.hostname)
    steps.push(
      {kind: 'distribute-images', service: postgresImage, cause: `load onto ${db.node.hostname} (the db node)`},
      {
        kind: 'distribute-images',
        service: desired.appImage,
        cause: `load onto ${all.join(', ')} (any node runs the API)`,
      },
    )
  }
  if (db.action === 'pinned') steps.push({kind: 'pin-db-node', service: db.node.hostname, cause: db.reason})
  const replicas = desired.replicas === undefined ? '' : ` (${desired.replicas} API replicas)`
  steps.push({
    kind: 'deploy',
    service: desired.project,
    cause: `${observed.deployedBefore ? 'the swarm converges its services to the rendered file' : 'not deployed yet'}${replicas}`,
  })
  steps.push({kind: 'wait-tasks', service: desired.project, cause: 'every task running and healthy'})
  return {db, steps}
}
