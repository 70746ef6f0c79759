/**
 * Pure rendering: template text + typed inputs → docker-compose.yml text. No I/O here; reading the template
 * and writing the result live in stack-files.ts. The template is real YAML and is edited as a YAML document,
 * so its comments survive into the rendered file.
 */
import {parseDocument} from 'yaml'

import {APP_CONTAINER_PORT, DB_NAME, DB_USER, pgDataMountPath, type StackConfig} from '../config/stack-config.js'

export interface StackImages {
  source: 'registry' | 'local'
  postgres: string
  node: string
}

export interface RenderInput {
  config: Pick<StackConfig, 'project' | 'host' | 'port' | 'pgMajor'>
  images: StackImages
  /** Tag of the app image; derived from the build context's content so a changed bundle means a new image. */
  appImage: string
  /** uid:gid the API runs as; never root. */
  appUser: string
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

  return doc.toString({lineWidth: 0})
}

function pgIsReady(): string[] {
  return ['CMD', 'pg_isready', '-h', '127.0.0.1', '-U', DB_USER, '-d', DB_NAME]
}
