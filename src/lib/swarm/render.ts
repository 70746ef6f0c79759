/**
 * Pure rendering of the swarm stack file: the compose file rendered from templates/compose/docker-compose.yml
 * (the same services, secret and labels), with templates/compose/swarm.yml's changes for `docker stack deploy`
 * applied: a `version:` key, no `name:` or `build:`, `deploy:` blocks, the db pinned by a node label, the
 * endpoint and port modes this swarm's kernel supports, and the password as a versioned swarm secret.
 */
import {isMap, parseDocument, type Document} from 'yaml'

import {renderCompose, type RenderInput} from '../compose/render.js'
import {APP_CONTAINER_PORT, DB_SECRET} from '../config/stack-config.js'
import {LABELS} from '../config/labels.js'

export const STACK_FILE_VERSION = '3.8'

export interface NetworkModes {
  /** vip needs IPVS in the nodes' kernel; dnsrr hands out the tasks' own addresses. */
  endpointMode: 'vip' | 'dnsrr'
  /** ingress (the routing mesh) needs IPVS; host publishes on the nodes that run a task. */
  portMode: 'ingress' | 'host'
}

export interface SwarmRenderInput extends Omit<RenderInput, 'dev'> {
  replicas: number
  /** The node label that pins the db, e.g. io.stackctl.db.demo. */
  dbNodeLabel: string
  /** The secret's name in the swarm; a new name for each new content (secrets cannot be updated). */
  secretName: string
  modes: NetworkModes
}

export function renderSwarmStack(composeTemplate: string, swarmTemplate: string, input: SwarmRenderInput): string {
  const doc = parseDocument(renderCompose(composeTemplate, input))
  const overlay = parseDocument(swarmTemplate)
  if (overlay.errors.length > 0) throw new Error(`swarm template is not valid YAML: ${overlay.errors[0].message}`)
  const changes = overlay.toJS() as {remove: Record<string, string[]>}

  doc.delete('name')
  doc.commentBefore =
    ' Rendered by stackctl up --target swarm from templates/compose/docker-compose.yml and swarm.yml: deployed\n' +
    ' with docker stack deploy. Do not edit: it is rendered again on every up. The password is not in here.'
  // `version` first, where readers of stack files look for it.
  const top = doc.contents as unknown
  if (isMap(top)) top.items.unshift(doc.createPair('version', STACK_FILE_VERSION))

  for (const [service, keys] of Object.entries(changes.remove)) {
    for (const key of keys) doc.deleteIn(['services', service, key])
  }
  const settings = overlay.toJS() as {services: Record<string, {healthcheck: Record<string, unknown>}>}
  for (const service of ['db', 'app']) {
    // The probe stays the compose file's; only its timing changes.
    for (const [field, value] of Object.entries(settings.services[service].healthcheck)) {
      doc.setIn(['services', service, 'healthcheck', field], value)
    }
    for (const key of ['deploy', 'hostname', 'volumes']) {
      const value = overlay.getIn(['services', service, key], true)
      if (value !== undefined) doc.setIn(['services', service, key], value)
    }
  }

  doc.setIn(['services', 'db', 'deploy', 'endpoint_mode'], input.modes.endpointMode)
  doc.setIn(['services', 'db', 'deploy', 'placement', 'constraints'], [`node.labels.${input.dbNodeLabel} == true`])
  doc.setIn(['services', 'app', 'deploy', 'replicas'], input.replicas)
  doc.setIn(['services', 'app', 'deploy', 'endpoint_mode'], input.modes.endpointMode)
  if (input.modes.portMode === 'host') {
    // A host-mode port is held by one task per node: a new task cannot start next to the one it replaces.
    doc.setIn(['services', 'app', 'deploy', 'update_config', 'order'], 'stop-first')
    doc.setIn(['services', 'app', 'deploy', 'rollback_config', 'order'], 'stop-first')
  }
  doc.setIn(['services', 'app', 'ports', 0], doc.createNode(port(input, input.modes.portMode)))
  doc.setIn(['networks', 'default', 'driver'], overlay.getIn(['networks', 'default', 'driver']))
  applyServiceLabels(doc, input)
  doc.setIn(['secrets', DB_SECRET.name, 'name'], input.secretName)
  return doc.toString({lineWidth: 0})
}

function port(input: SwarmRenderInput, mode: NetworkModes['portMode']) {
  return {target: APP_CONTAINER_PORT, published: input.config.port, protocol: 'tcp', mode}
}

/** Services carry the stack's identity as service labels too, where `docker service ls` shows them. */
function applyServiceLabels(doc: Document, input: SwarmRenderInput): void {
  for (const service of ['db', 'app']) {
    doc.setIn(['services', service, 'deploy', 'labels', LABELS.stackId], input.identity.stackId)
    doc.setIn(['services', service, 'deploy', 'labels', LABELS.project], input.config.project)
  }
}
