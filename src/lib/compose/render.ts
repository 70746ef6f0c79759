/**
 * Pure rendering: template text + typed inputs → docker-compose.yml text. No I/O here: stack/render-stack.ts
 * reads the template and stackdir/stack-files.ts writes the result. The template is real YAML and is edited
 * as a YAML document, so its comments survive into the rendered file.
 */
import {parseDocument, type Document} from 'yaml'

import {
  APP_CONTAINER_PORT,
  DB_CONTAINER_PORT,
  DB_NAME,
  DB_PUBLISH_HOST,
  DB_SECRET,
  DB_USER,
  pgDataMountPath,
  secretMountPath,
  VOLUME_KEY,
  volumeName,
  type StackConfig,
} from '../config/stack-config.js'
import {LABELS} from '../config/labels.js'
import type {StackImages} from '../images/stack-images.js'

export interface RenderInput {
  /**
   * `volume`: the data volume when it is not `<project>_postgres_data` (after `db upgrade`); `dbPort`: the
   * host port the database is published on (--db-port), none when undefined.
   */
  config: Pick<StackConfig, 'project' | 'host' | 'port' | 'pgMajor'> & {volume?: string; dbPort?: number}
  images: StackImages
  /** Tag of the app image; derived from the build context's content so a changed bundle means a new image. */
  appImage: string
  /** uid:gid the API runs as; never root. */
  appUser: string
  /** Development mode: the API runs from a working tree instead of the built image. */
  dev?: DevMode
  /** Who the stack is: every service, the network and the volume are labelled with it. */
  identity: StackIdentity
}

export interface StackIdentity {
  stackId: string
  /** The stack directory, so a container says where its stack lives (not on the volume: it may move). */
  dir: string
}

export interface DevMode {
  /** The app-dev.yml template's text. */
  overlayText: string
  /** Absolute host paths for the overlay's bind mounts, in its order: source, toolchain, runner. */
  sourceDir: string
  toolchainDir: string
  runnerDir: string
}

export function renderCompose(templateText: string, input: RenderInput): string {
  const doc = parseDocument(templateText)
  if (doc.errors.length > 0) throw new Error(`compose template is not valid YAML: ${doc.errors[0].message}`)
  const {config, images} = input

  doc.set('name', config.project)

  doc.setIn(['services', 'db', 'image'], images.postgres)
  doc.setIn(['services', 'db', 'environment', 'POSTGRES_USER'], DB_USER)
  doc.setIn(['services', 'db', 'environment', 'POSTGRES_DB'], DB_NAME)
  doc.setIn(['services', 'db', 'volumes', 0, 'target'], pgDataMountPath(config.pgMajor))
  // An upgraded stack runs on the volume `db upgrade` made; Compose then uses that name for the same key.
  if (config.volume !== undefined && config.volume !== volumeName(config.project)) {
    doc.setIn(['volumes', VOLUME_KEY, 'name'], config.volume)
  }
  if (config.dbPort !== undefined) publishDb(doc, config.dbPort)
  const healthTest = doc.createNode(pgIsReady())
  healthTest.flow = true
  doc.setIn(['services', 'db', 'healthcheck', 'test'], healthTest)

  doc.setIn(['services', 'app', 'build', 'args', 'NODE_IMAGE'], images.node)
  doc.setIn(['services', 'app', 'image'], input.appImage)
  doc.setIn(['services', 'app', 'user'], input.appUser)
  doc.setIn(['services', 'app', 'environment', 'POSTGRES_USER'], DB_USER)
  doc.setIn(['services', 'app', 'environment', 'POSTGRES_DB'], DB_NAME)
  doc.setIn(['services', 'app', 'environment', 'PORT'], String(APP_CONTAINER_PORT))
  doc.setIn(['services', 'app', 'ports', 0, 'target'], APP_CONTAINER_PORT)
  doc.setIn(['services', 'app', 'ports', 0, 'host_ip'], config.host)
  doc.setIn(['services', 'app', 'ports', 0, 'published'], String(config.port))

  if (input.dev) applyDevMode(doc, input.dev, images.node)
  applySecret(doc)
  applyIdentity(doc, config.project, input.identity)
  return doc.toString({lineWidth: 0})
}

/** --db-port: PostgreSQL for the host's own tools (psql, GUIs), on loopback only. */
function publishDb(doc: Document, port: number): void {
  const ports = doc.createNode([
    {target: DB_CONTAINER_PORT, host_ip: DB_PUBLISH_HOST, published: String(port), protocol: 'tcp'},
  ])
  ports.commentBefore = ' stackctl up --db-port: for tools on this machine only (never another interface).'
  doc.setIn(['services', 'db', 'ports'], ports)
}

/** Replaces the app's build with the base image running the dev runner over bind-mounted sources. */
function applyDevMode(doc: Document, dev: DevMode, nodeImage: string): void {
  const overlay = parseDocument(dev.overlayText)
  if (overlay.errors.length > 0) throw new Error(`dev template is not valid YAML: ${overlay.errors[0].message}`)
  const app = ['services', 'app']
  doc.deleteIn([...app, 'build'])
  doc.setIn([...app, 'image'], nodeImage)
  doc.setIn([...app, 'command'], overlay.get('command', true))
  for (const [name, value] of Object.entries(overlay.toJS().environment as Record<string, string>)) {
    doc.setIn([...app, 'environment', name], value)
  }
  const sources = [dev.sourceDir, dev.toolchainDir, dev.runnerDir]
  sources.forEach((source, index) => overlay.setIn(['volumes', index, 'source'], source))
  doc.setIn([...app, 'volumes'], overlay.get('volumes', true))
  doc.setIn([...app, 'labels'], overlay.get('labels', true))
  doc.setIn([...app, 'healthcheck', 'test'], overlay.getIn(['healthcheck', 'test'], true))
}

/** The password file: named, mounted and pointed at from one place (DB_SECRET), never its content. */
function applySecret(doc: Document): void {
  for (const service of ['db', 'app']) {
    doc.setIn(['services', service, 'environment', 'POSTGRES_PASSWORD_FILE'], secretMountPath(DB_SECRET.name))
    doc.setIn(['services', service, 'secrets', 0], DB_SECRET.name)
  }
  doc.setIn(['secrets', DB_SECRET.name, 'file'], `./${DB_SECRET.file}`)
}

/**
 * The volume's labels never change after its creation (Compose cannot relabel a volume), so they hold only
 * what never changes: the stack id and the project. Services also say where their stack directory is.
 */
function applyIdentity(doc: Document, project: string, identity: StackIdentity): void {
  const fixed = {[LABELS.stackId]: identity.stackId, [LABELS.project]: project}
  for (const service of ['db', 'app']) {
    for (const [key, value] of Object.entries({...fixed, [LABELS.dir]: identity.dir})) {
      doc.setIn(['services', service, 'labels', key], value)
    }
  }
  for (const [key, value] of Object.entries(fixed)) {
    doc.setIn(['networks', 'default', 'labels', key], value)
    doc.setIn(['volumes', 'postgres_data', 'labels', key], value)
  }
}

function pgIsReady(): string[] {
  return ['CMD', 'pg_isready', '-h', '127.0.0.1', '-U', DB_USER, '-d', DB_NAME]
}
