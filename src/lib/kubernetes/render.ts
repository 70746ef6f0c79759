/**
 * Pure rendering: the templates under templates/kubernetes/ + typed inputs → one YAML file per object and a
 * kustomization.yaml listing them. No I/O here (render-kubernetes.ts reads the templates, output-dir.ts
 * writes the files). Each template is real YAML, edited as a YAML document, so its comments survive.
 */
import path from 'node:path'

import {parseDocument, type Document} from 'yaml'

import {
  APP_CONTAINER_PORT,
  DB_NAME,
  DB_SECRET,
  DB_USER,
  pgDataMountPath,
  secretMountPath,
} from '../config/stack-config.js'
import type {KubernetesImages} from './images.js'
import type {KubernetesNames} from './names.js'
import type {PostgresMode} from './options.js'

export const TEMPLATE_NAMES = [
  'kustomization.yaml',
  'db-statefulset.yaml',
  'db-service.yaml',
  'db-networkpolicy.yaml',
  'cnpg-cluster.yaml',
  'cnpg-networkpolicy.yaml',
  'app-deployment.yaml',
  'app-service.yaml',
  'app-pdb.yaml',
] as const
export type TemplateName = (typeof TEMPLATE_NAMES)[number]
type ObjectTemplate = Exclude<TemplateName, 'kustomization.yaml'>
export type KubernetesTemplates = Record<TemplateName, string>

/** The objects each mode consists of, database first; each is written to a file of its template's name. */
export const MODE_OBJECTS: Record<PostgresMode, ObjectTemplate[]> = {
  statefulset: ['db-statefulset.yaml', 'db-service.yaml', 'db-networkpolicy.yaml'],
  'cloudnative-pg': ['cnpg-cluster.yaml', 'cnpg-networkpolicy.yaml'],
}
const APP_OBJECTS: ObjectTemplate[] = ['app-deployment.yaml', 'app-service.yaml', 'app-pdb.yaml']

/** The role CloudNativePG's initdb creates to own the database (its superuser stays disabled). */
export const CNPG_OWNER = 'app'

export interface KubernetesRenderInput {
  pgMajor: number
  namespace: string
  replicas: number
  storage: {size: string; className?: string}
  postgres: PostgresMode
  images: KubernetesImages
  names: KubernetesNames
}

export interface ManifestFile {
  name: string
  text: string
}

/** kustomization.yaml first, then one file per object. */
export function renderKubernetes(templates: KubernetesTemplates, input: KubernetesRenderInput): ManifestFile[] {
  const objects = [...MODE_OBJECTS[input.postgres], ...APP_OBJECTS].map((name) => {
    const doc = parse(templates[name], name)
    setMetadata(doc, objectName(name, input.names), input)
    EDITS[name](doc, input)
    return {name, text: doc.toString({lineWidth: 0})}
  })
  const kustomization = parse(templates['kustomization.yaml'], 'kustomization.yaml')
  kustomization.set('namespace', input.namespace)
  kustomization.set(
    'resources',
    objects.map((file) => file.name),
  )
  return [{name: 'kustomization.yaml', text: kustomization.toString({lineWidth: 0})}, ...objects]
}

/** The objects as one multi-document stream, for `kubectl apply -f -` (each carries its namespace). */
export function manifestStream(files: ManifestFile[]): string {
  return files
    .filter((file) => file.name !== 'kustomization.yaml')
    .map((file) => file.text)
    .join('---\n')
}

/** The password file's path inside a container, and the directory the Secret is mounted on. */
const PASSWORD_FILE = secretMountPath(DB_SECRET.name)
const INSTANCE = 'app.kubernetes.io/instance'

function parse(text: string, name: string): Document {
  const doc = parseDocument(text)
  if (doc.errors.length > 0) throw new Error(`template ${name} is not valid YAML: ${doc.errors[0].message}`)
  return doc
}

function objectName(template: ObjectTemplate, names: KubernetesNames): string {
  return template.startsWith('app-') ? names.app : names.db
}

function setMetadata(doc: Document, name: string, input: KubernetesRenderInput): void {
  doc.setIn(['metadata', 'name'], name)
  doc.setIn(['metadata', 'namespace'], input.namespace)
  doc.setIn(['metadata', 'labels', INSTANCE], input.names.base)
}

type Edit = (doc: Document, input: KubernetesRenderInput) => void

const EDITS: Record<ObjectTemplate, Edit> = {
  'db-statefulset.yaml': (doc, input) => {
    const {names} = input
    const pod = ['spec', 'template', 'spec']
    const container = [...pod, 'containers', 0]
    doc.setIn(['spec', 'serviceName'], names.db)
    setPodLabels(doc, ['spec'], names.base)
    doc.setIn([...container, 'image'], input.images.postgres)
    setEnv(doc, container, {
      POSTGRES_USER: DB_USER,
      POSTGRES_DB: DB_NAME,
      POSTGRES_PASSWORD_FILE: PASSWORD_FILE,
      PGDATA: pgData(input.pgMajor),
    })
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      doc.setIn([...container, probe, 'exec', 'command'], flow(doc, pgIsReady()))
    }
    const data = item(doc, [...container, 'volumeMounts'], 'postgres-data')
    doc.setIn([...data, 'name'], names.claimTemplate)
    doc.setIn([...data, 'mountPath'], pgDataMountPath(input.pgMajor))
    setPasswordVolume(doc, pod, container, names.secret)
    const claim = ['spec', 'volumeClaimTemplates', 0]
    doc.setIn([...claim, 'metadata', 'name'], names.claimTemplate)
    doc.setIn([...claim, 'metadata', 'labels', INSTANCE], names.base)
    doc.setIn([...claim, 'spec', 'resources', 'requests', 'storage'], input.storage.size)
    if (input.storage.className) doc.setIn([...claim, 'spec', 'storageClassName'], input.storage.className)
  },
  'db-service.yaml': (doc, input) => {
    doc.setIn(['spec', 'selector', INSTANCE], input.names.base)
  },
  'db-networkpolicy.yaml': (doc, input) => {
    doc.setIn(['spec', 'podSelector', 'matchLabels', INSTANCE], input.names.base)
    doc.setIn(['spec', 'ingress', 0, 'from', 0, 'podSelector', 'matchLabels', INSTANCE], input.names.base)
  },
  'cnpg-cluster.yaml': (doc, input) => {
    doc.setIn(['spec', 'imageName'], input.images.postgres)
    doc.setIn(['spec', 'storage', 'size'], input.storage.size)
    if (input.storage.className) doc.setIn(['spec', 'storage', 'storageClass'], input.storage.className)
    doc.setIn(['spec', 'bootstrap', 'initdb', 'database'], DB_NAME)
    doc.setIn(['spec', 'bootstrap', 'initdb', 'owner'], CNPG_OWNER)
    doc.setIn(['spec', 'bootstrap', 'initdb', 'secret', 'name'], input.names.secret)
  },
  'cnpg-networkpolicy.yaml': (doc, input) => {
    const cluster = {'cnpg.io/cluster': input.names.db}
    doc.setIn(['spec', 'podSelector', 'matchLabels'], cluster)
    doc.setIn(['spec', 'ingress', 0, 'from', 0, 'podSelector', 'matchLabels', INSTANCE], input.names.base)
    doc.setIn(['spec', 'ingress', 1, 'from', 0, 'podSelector', 'matchLabels'], cluster)
  },
  'app-deployment.yaml': (doc, input) => {
    const {names} = input
    const pod = ['spec', 'template', 'spec']
    const container = [...pod, 'containers', 0]
    doc.setIn(['spec', 'replicas'], input.replicas)
    setPodLabels(doc, ['spec'], names.base)
    doc.setIn([...pod, 'topologySpreadConstraints', 0, 'labelSelector', 'matchLabels', INSTANCE], names.base)
    doc.setIn([...container, 'image'], input.images.app)
    doc.setIn([...container, 'ports', 0, 'containerPort'], APP_CONTAINER_PORT)
    setEnv(doc, container, {
      POSTGRES_HOST: names.dbHost,
      POSTGRES_USER: input.postgres === 'cloudnative-pg' ? CNPG_OWNER : DB_USER,
      POSTGRES_DB: DB_NAME,
      POSTGRES_PASSWORD_FILE: PASSWORD_FILE,
      PORT: String(APP_CONTAINER_PORT),
    })
    setPasswordVolume(doc, pod, container, names.secret)
  },
  'app-service.yaml': (doc, input) => {
    doc.setIn(['spec', 'selector', INSTANCE], input.names.base)
    doc.setIn(['spec', 'ports', 0, 'port'], APP_CONTAINER_PORT)
  },
  'app-pdb.yaml': (doc, input) => {
    doc.setIn(['spec', 'selector', 'matchLabels', INSTANCE], input.names.base)
  },
}

/** PGDATA in a subdirectory of the volume; 18+ as the official image's new layout (/var/lib/postgresql/18/docker). */
export function pgData(pgMajor: number): string {
  const mount = pgDataMountPath(pgMajor)
  return pgMajor >= 18 ? `${mount}/${pgMajor}/docker` : `${mount}/pgdata`
}

export function pgIsReady(): string[] {
  return ['pg_isready', '-h', '127.0.0.1', '-U', DB_USER, '-d', DB_NAME]
}

/** A workload's selector and its pods' labels name the same instance. */
function setPodLabels(doc: Document, spec: string[], base: string): void {
  doc.setIn([...spec, 'selector', 'matchLabels', INSTANCE], base)
  doc.setIn([...spec, 'template', 'metadata', 'labels', INSTANCE], base)
}

/** The Secret as a file named like the Compose secret, in the directory POSTGRES_PASSWORD_FILE points into. */
function setPasswordVolume(doc: Document, pod: (string | number)[], container: (string | number)[], secret: string) {
  const volume = item(doc, [...pod, 'volumes'], 'db-password')
  doc.setIn([...volume, 'secret', 'secretName'], secret)
  doc.setIn([...volume, 'secret', 'items', 0, 'path'], path.posix.basename(PASSWORD_FILE))
  doc.setIn(
    [...item(doc, [...container, 'volumeMounts'], 'db-password'), 'mountPath'],
    path.posix.dirname(PASSWORD_FILE),
  )
}

function setEnv(doc: Document, container: (string | number)[], values: Record<string, string>): void {
  for (const [name, value] of Object.entries(values))
    doc.setIn([...item(doc, [...container, 'env'], name), 'value'], value)
}

/** The path of the entry called `name` in a list of named entries (env, volumes, mounts) of the template. */
function item(doc: Document, list: (string | number)[], name: string): (string | number)[] {
  const entries = doc.getIn(list) as {items?: {get: (key: string) => unknown}[]} | undefined
  const index = entries?.items?.findIndex((entry) => entry.get('name') === name) ?? -1
  if (index < 0) throw new Error(`template has no entry '${name}' under ${list.join('.')}`)
  return [...list, index]
}

function flow(doc: Document, values: string[]) {
  const node = doc.createNode(values)
  node.flow = true
  return node
}
