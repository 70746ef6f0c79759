/**
 * The model → a stack file for `docker stack deploy`: the Compose file the model renders, changed as
 * templates/compose/swarm.yml says for swarm (a `version:` key, no `name:` or `build:`, `deploy:` blocks and
 * swarm health timings), with the model's swarm values (replicas, the db's placement, endpoint and port modes,
 * the versioned secret, limits, service labels) written in here.
 */
import {isMap, isScalar, parseDocument} from 'yaml'

import {composeDocument, memory} from './compose-writer.js'
import type {ServiceModel, StackModel} from './stack-model.js'

export const STACK_FILE_VERSION = '3.8'

export interface SwarmTemplates {
  compose: string
  swarm: string
}

export function toSwarmStack(model: StackModel, templates: SwarmTemplates): string {
  const {swarm} = model
  if (!swarm) throw new Error('the stack model has no swarm settings')
  const doc = composeDocument(model, templates.compose)
  const overlay = parseDocument(templates.swarm)
  if (overlay.errors.length > 0) throw new Error(`swarm template is not valid YAML: ${overlay.errors[0].message}`)
  const changes = overlay.toJS() as {
    remove: Record<string, string[]>
    services: Record<string, {healthcheck: Record<string, unknown>}>
  }
  const services = {db: model.services.db, app: model.services.app} as Record<string, ServiceModel>

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
  for (const service of ['db', 'app']) {
    // The probe stays the model's; only its timing changes, without the Compose template's reasons for its own.
    const timing = changes.services[service].healthcheck
    for (const [field, value] of Object.entries(timing)) doc.setIn(['services', service, 'healthcheck', field], value)
    const check = doc.getIn(['services', service, 'healthcheck'], true)
    if (isMap(check)) {
      for (const pair of check.items) {
        if (!isScalar(pair.key) || !(String(pair.key.value) in timing)) continue
        pair.key.commentBefore = undefined
        if (isScalar(pair.value)) pair.value.comment = undefined
      }
    }
    for (const key of ['deploy', 'hostname', 'volumes']) {
      const value = overlay.getIn(['services', service, key], true)
      if (value !== undefined) doc.setIn(['services', service, key], value)
    }
    const limit = memory(services[service].limits.memoryMiB, 'G', 'M')
    doc.setIn(['services', service, 'deploy', 'resources', 'limits', 'memory'], limit)
  }

  const {db, app} = model.services
  doc.setIn(['services', 'db', 'deploy', 'endpoint_mode'], swarm.endpointMode)
  doc.setIn(['services', 'db', 'deploy', 'placement', 'constraints'], [...db.placement])
  if (app.replicas !== undefined) doc.setIn(['services', 'app', 'deploy', 'replicas'], app.replicas)
  doc.setIn(['services', 'app', 'deploy', 'endpoint_mode'], swarm.endpointMode)
  if (swarm.portMode === 'host') {
    // A host-mode port is held by one task per node: a new task cannot start next to the one it replaces.
    doc.setIn(['services', 'app', 'deploy', 'update_config', 'order'], 'stop-first')
    doc.setIn(['services', 'app', 'deploy', 'rollback_config', 'order'], 'stop-first')
  }
  app.ports.forEach((port, index) => {
    const published = {target: port.target, published: port.published, protocol: port.protocol, mode: swarm.portMode}
    doc.setIn(['services', 'app', 'ports', index], doc.createNode(published))
  })
  doc.setIn(['networks', 'default', 'driver'], overlay.getIn(['networks', 'default', 'driver']))
  // Services carry the stack's identity as service labels too, where `docker service ls` shows them.
  for (const service of ['db', 'app']) {
    for (const [key, value] of Object.entries(model.ownerLabels)) {
      doc.setIn(['services', service, 'deploy', 'labels', key], value)
    }
  }
  if (model.secret.swarmName !== undefined) doc.setIn(['secrets', model.secret.key, 'name'], model.secret.swarmName)
  return doc.toString({lineWidth: 0})
}
