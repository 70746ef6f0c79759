/**
 * The model → docker-compose.yml. templates/compose/docker-compose.yml holds what never varies (security
 * options, restart policies, health timings, logging) and the comments a reader of the rendered file needs;
 * every value the model decides is written into it here, in one place. The template is edited as a YAML
 * document so its comments survive.
 */
import {parseDocument, type Document, type Pair, type Scalar, type YAMLMap} from 'yaml'

import {volumeName} from './config/stack-config.js'
import type {PortModel, ServiceModel, StackModel} from './stack-model.js'

/** The API's user on rootless Docker (engine/capabilities.ts: appRuntime). */
const ROOTLESS_DOCKER_ROOT = '0:0'

export function toCompose(model: StackModel, template: string): string {
  return composeDocument(model, template).toString({lineWidth: 0})
}

/** The rendered file as a YAML document, for the swarm writer to change further. */
export function composeDocument(model: StackModel, template: string): Document {
  const doc = parseDocument(template)
  if (doc.errors.length > 0) throw new Error(`compose template is not valid YAML: ${doc.errors[0].message}`)
  const {db, app} = model.services
  const [dbPath, appPath] = [
    ['services', 'db'],
    ['services', 'app'],
  ]

  doc.set('name', model.project)

  doc.setIn([...dbPath, 'image'], db.image)
  setEnvironment(doc, dbPath, db)
  doc.setIn([...dbPath, 'volumes', 0, 'target'], model.volume.mountPath)
  // An upgraded stack runs on the volume `db upgrade` made; Compose then uses that name for the same key.
  if (model.volume.name !== volumeName(model.project)) {
    doc.setIn(['volumes', model.volume.key, 'name'], model.volume.name)
  }
  if (db.ports.length > 0) {
    const ports = doc.createNode(db.ports.map(composePort))
    ports.commentBefore = ' stackctl up --db-port: for tools on this machine only (never another interface).'
    doc.setIn([...dbPath, 'ports'], ports)
  }
  if (db.command !== undefined) doc.setIn([...dbPath, 'command'], flow(doc, [...db.command]))
  if (model.backups) {
    const mount = doc.createNode({type: 'volume', source: model.backups.key, target: model.backups.mountPath})
    mount.commentBefore = ' WAL archive and backups (pgBackRest): a volume of its own, kept by down --volumes.'
    doc.addIn([...dbPath, 'volumes'], mount)
  }
  doc.setIn([...dbPath, 'healthcheck', 'test'], flow(doc, ['CMD', ...db.health]))
  setLimits(doc, dbPath, db)

  if (app.buildFrom === undefined) doc.deleteIn([...appPath, 'build'])
  else doc.setIn([...appPath, 'build', 'args', 'NODE_IMAGE'], app.buildFrom)
  doc.setIn([...appPath, 'image'], app.image)
  if (app.user !== undefined) doc.setIn([...appPath, 'user'], app.user)
  if (app.user === ROOTLESS_DOCKER_ROOT) {
    const user = (doc.getIn(appPath) as YAMLMap).items.find((item) => (item.key as Scalar).value === 'user')
    if (user) {
      ;(user.key as Scalar).commentBefore =
        " Rootless Docker: the container's root is your unprivileged user on the host (no capability kept), so it reads the 0600 password file."
    }
  }
  if (app.usernsMode !== undefined) {
    const pair = doc.createPair('userns_mode', app.usernsMode)
    ;(pair.key as Scalar).commentBefore =
      ' Rootless Podman: the API keeps your own uid inside its user namespace, so it reads the 0600 password file.'
    insertAfter(doc.getIn(appPath) as YAMLMap, 'user', pair)
  }
  if (app.command !== undefined) doc.setIn([...appPath, 'command'], flow(doc, [...app.command]))
  setEnvironment(doc, appPath, app)
  app.ports.forEach((port, index) => {
    const at = [...appPath, 'ports', index]
    doc.setIn([...at, 'target'], port.target)
    if (port.hostIp !== undefined) doc.setIn([...at, 'host_ip'], port.hostIp)
    if (port.published !== undefined) doc.setIn([...at, 'published'], String(port.published))
  })
  if (app.mounts.length > 0) {
    const mounts = app.mounts.map((mount) => ({
      type: 'bind',
      source: mount.source,
      target: mount.target,
      ...(mount.readOnly ? {read_only: true} : {}),
    }))
    doc.setIn([...appPath, 'volumes'], doc.createNode(mounts))
  }
  doc.setIn([...appPath, 'healthcheck', 'test'], flow(doc, ['CMD', ...app.health]))
  setLimits(doc, appPath, app)

  // The password file: named, mounted and pointed at (POSTGRES_PASSWORD_FILE, above), never its content.
  for (const [path, service] of [
    [dbPath, db],
    [appPath, app],
  ] as const) {
    service.secrets.forEach((key, index) => doc.setIn([...path, 'secrets', index], key))
  }
  doc.setIn(['secrets', model.secret.key, 'file'], model.secret.file)

  for (const [path, service] of [
    [dbPath, db],
    [appPath, app],
  ] as const) {
    for (const [key, value] of Object.entries(service.labels)) doc.setIn([...path, 'labels', key], value)
  }
  for (const [key, value] of Object.entries(model.ownerLabels)) doc.setIn(['networks', 'default', 'labels', key], value)
  for (const [key, value] of Object.entries(model.volume.labels)) {
    doc.setIn(['volumes', model.volume.key, 'labels', key], value)
  }
  if (model.backups) {
    // External: stackctl creates it with these labels (compose/backups-volume.ts); Compose never deletes it.
    doc.setIn(['volumes', model.backups.key], doc.createNode({name: model.backups.name, external: true}))
  }
  return doc
}

/** Next to the key it belongs with, where a reader of the file looks for it (setIn would append it at the end). */
function insertAfter(map: YAMLMap, key: string, pair: Pair): void {
  const at = map.items.findIndex((item) => (item.key as Scalar | null)?.value === key)
  map.items.splice(at + 1, 0, pair)
}

function composePort(port: PortModel) {
  return {target: port.target, host_ip: port.hostIp, published: String(port.published), protocol: port.protocol}
}

/** Values in the template's order; a key the template lacks (dev mode's) goes last. */
function setEnvironment(doc: Document, path: string[], service: ServiceModel): void {
  for (const [name, value] of Object.entries(service.environment)) doc.setIn([...path, 'environment', name], value)
}

function setLimits(doc: Document, path: string[], service: ServiceModel): void {
  doc.setIn([...path, 'mem_limit'], memory(service.limits.memoryMiB, 'g', 'm'))
  doc.setIn([...path, 'pids_limit'], service.limits.pids)
}

/** 1024 MiB → 1g (Compose), 1G (Swarm), 1Gi (Kubernetes). */
export function memory(mib: number, giga: string, mega: string): string {
  return mib % 1024 === 0 ? `${mib / 1024}${giga}` : `${mib}${mega}`
}

export function flow(doc: Document, values: string[]) {
  const node = doc.createNode(values)
  node.flow = true
  return node
}
