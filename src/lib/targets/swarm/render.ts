/**
 * Pure rendering of the swarm stack file through the stack model (src/lib/model): the compose file rendered
 * from templates/compose/docker-compose.yml (the same services, secret and labels), with
 * templates/compose/swarm.yml's changes for `docker stack deploy` and the model's swarm settings: the db pinned
 * by a node label, the endpoint and port modes this swarm's kernel supports, and the password as a versioned
 * swarm secret.
 */
import {composeModel, type RenderInput} from '../compose/render.js'
import type {StackModel, SwarmNetwork} from '../../model/stack-model.js'
import {toSwarmStack} from '../../model/swarm-writer.js'

export {STACK_FILE_VERSION} from '../../model/swarm-writer.js'

export type NetworkModes = SwarmNetwork

export interface SwarmRenderInput extends Omit<RenderInput, 'dev'> {
  replicas: number
  /** The node label that pins the db, e.g. io.stackctl.db.demo. */
  dbNodeLabel: string
  /** The secret's name in the swarm; a new name for each new content (secrets cannot be updated). */
  secretName: string
  modes: NetworkModes
}

export function renderSwarmStack(composeTemplate: string, swarmTemplate: string, input: SwarmRenderInput): string {
  return toSwarmStack(swarmModel(input), {compose: composeTemplate, swarm: swarmTemplate})
}

export function swarmModel(input: SwarmRenderInput): StackModel {
  return composeModel(
    {...input, dev: undefined},
    {
      replicas: input.replicas,
      swarm: {...input.modes, dbNodeLabel: input.dbNodeLabel, secretName: input.secretName},
    },
  )
}
