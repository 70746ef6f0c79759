/**
 * The model → one Kubernetes object per file and a kustomization.yaml listing them. The templates under
 * templates/kubernetes/ hold what never varies (security contexts, probe timings, requests) and the comments a
 * reader needs; the values the model decides (images, environment, probes, ports, replicas, limits, storage,
 * names) are written in here. Each template is edited as a YAML document, so its comments survive.
 */
import path from 'node:path'

import {parseDocument, type Document} from 'yaml'

import {memory} from './compose-writer.js'
import {CNPG_OWNER, type KubernetesPlacement, type PostgresMode, type StackModel} from './stack-model.js'

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

export interface ManifestFile {
  name: string
  text: string
}

const INSTANCE = 'app.kubernetes.io/instance'

/** kustomization.yaml first, then one file per object. */
export function toKubernetes(model: StackModel, templates: KubernetesTemplates): ManifestFile[] {
  const k8s = model.kubernetes
  if (!k8s) throw new Error('the stack model has no Kubernetes settings')
  const objects = [...MODE_OBJECTS[k8s.postgres], ...APP_OBJECTS].map((name) => {
    const doc = parse(templates[name], name)
    setMetadata(doc, name.startsWith('app-') ? k8s.names.app : k8s.names.db, k8s)
    EDITS[name](doc, model, k8s)
    return {name, text: doc.toString({lineWidth: 0})}
  })
  const kustomization = parse(templates['kustomization.yaml'], 'kustomization.yaml')
  kustomization.set('namespace', k8s.namespace)
  kustomization.set(
    'resources',
    objects.map((file) => file.name),
  )
  return [{name: 'kustomization.yaml', text: kustomization.toString({lineWidth: 0})}, ...objects]
}

function parse(text: string, name: string): Document {
  const doc = parseDocument(text)
  if (doc.errors.length > 0) throw new Error(`template ${name} is not valid YAML: ${doc.errors[0].message}`)
  return doc
}

function setMetadata(doc: Document, name: string, k8s: KubernetesPlacement): void {
  doc.setIn(['metadata', 'name'], name)
  doc.setIn(['metadata', 'namespace'], k8s.namespace)
  doc.setIn(['metadata', 'labels', INSTANCE], k8s.names.base)
}

type Edit = (doc: Document, model: StackModel, k8s: KubernetesPlacement) => void

const POD = ['spec', 'template', 'spec']
const CONTAINER = [...POD, 'containers', 0]

const EDITS: Record<ObjectTemplate, Edit> = {
  'db-statefulset.yaml': (doc, model, {names}) => {
    const {db} = model.services
    doc.setIn(['spec', 'serviceName'], names.db)
    setPodLabels(doc, ['spec'], names.base)
    doc.setIn([...CONTAINER, 'image'], db.image)
    setEnv(doc, CONTAINER, db.environment)
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      doc.setIn([...CONTAINER, probe, 'exec', 'command'], flow(doc, db.health))
    }
    doc.setIn([...CONTAINER, 'resources', 'limits', 'memory'], memory(db.limits.memoryMiB, 'Gi', 'Mi'))
    const data = item(doc, [...CONTAINER, 'volumeMounts'], 'postgres-data')
    doc.setIn([...data, 'name'], names.claimTemplate)
    doc.setIn([...data, 'mountPath'], model.volume.mountPath)
    setPasswordVolume(doc, model, names.secret)
    const claim = ['spec', 'volumeClaimTemplates', 0]
    doc.setIn([...claim, 'metadata', 'name'], names.claimTemplate)
    doc.setIn([...claim, 'metadata', 'labels', INSTANCE], names.base)
    const storage = model.volume.storage
    if (storage) {
      doc.setIn([...claim, 'spec', 'resources', 'requests', 'storage'], storage.size)
      if (storage.className) doc.setIn([...claim, 'spec', 'storageClassName'], storage.className)
    }
  },
  'db-service.yaml': (doc, _model, {names}) => {
    doc.setIn(['spec', 'selector', INSTANCE], names.base)
  },
  'db-networkpolicy.yaml': (doc, _model, {names}) => {
    doc.setIn(['spec', 'podSelector', 'matchLabels', INSTANCE], names.base)
    doc.setIn(['spec', 'ingress', 0, 'from', 0, 'podSelector', 'matchLabels', INSTANCE], names.base)
  },
  'cnpg-cluster.yaml': (doc, model, {names}) => {
    const {db} = model.services
    doc.setIn(['spec', 'imageName'], db.image)
    doc.setIn(['spec', 'resources', 'limits', 'memory'], memory(db.limits.memoryMiB, 'Gi', 'Mi'))
    const storage = model.volume.storage
    if (storage) {
      doc.setIn(['spec', 'storage', 'size'], storage.size)
      if (storage.className) doc.setIn(['spec', 'storage', 'storageClass'], storage.className)
    }
    doc.setIn(['spec', 'bootstrap', 'initdb', 'database'], db.environment.POSTGRES_DB)
    doc.setIn(['spec', 'bootstrap', 'initdb', 'owner'], CNPG_OWNER)
    doc.setIn(['spec', 'bootstrap', 'initdb', 'secret', 'name'], names.secret)
  },
  'cnpg-networkpolicy.yaml': (doc, _model, {names}) => {
    const cluster = {'cnpg.io/cluster': names.db}
    doc.setIn(['spec', 'podSelector', 'matchLabels'], cluster)
    doc.setIn(['spec', 'ingress', 0, 'from', 0, 'podSelector', 'matchLabels', INSTANCE], names.base)
    doc.setIn(['spec', 'ingress', 1, 'from', 0, 'podSelector', 'matchLabels'], cluster)
  },
  'app-deployment.yaml': (doc, model, {names}) => {
    const {app} = model.services
    if (app.replicas !== undefined) doc.setIn(['spec', 'replicas'], app.replicas)
    setPodLabels(doc, ['spec'], names.base)
    doc.setIn([...POD, 'topologySpreadConstraints', 0, 'labelSelector', 'matchLabels', INSTANCE], names.base)
    doc.setIn([...CONTAINER, 'image'], app.image)
    app.ports.forEach((port, index) => doc.setIn([...CONTAINER, 'ports', index, 'containerPort'], port.target))
    setEnv(doc, CONTAINER, app.environment)
    doc.setIn([...CONTAINER, 'resources', 'limits', 'memory'], memory(app.limits.memoryMiB, 'Gi', 'Mi'))
    setPasswordVolume(doc, model, names.secret)
  },
  'app-service.yaml': (doc, model, {names}) => {
    doc.setIn(['spec', 'selector', INSTANCE], names.base)
    model.services.app.ports.forEach((port, index) => doc.setIn(['spec', 'ports', index, 'port'], port.target))
  },
  'app-pdb.yaml': (doc, _model, {names}) => {
    doc.setIn(['spec', 'selector', 'matchLabels', INSTANCE], names.base)
  },
}

/** A workload's selector and its pods' labels name the same instance. */
function setPodLabels(doc: Document, spec: string[], base: string): void {
  doc.setIn([...spec, 'selector', 'matchLabels', INSTANCE], base)
  doc.setIn([...spec, 'template', 'metadata', 'labels', INSTANCE], base)
}

/** The Secret as a file named like the Compose secret, in the directory POSTGRES_PASSWORD_FILE points into. */
function setPasswordVolume(doc: Document, model: StackModel, secret: string) {
  const file = model.secret.mountPath
  const volume = item(doc, [...POD, 'volumes'], 'db-password')
  doc.setIn([...volume, 'secret', 'secretName'], secret)
  doc.setIn([...volume, 'secret', 'items', 0, 'path'], path.posix.basename(file))
  doc.setIn([...item(doc, [...CONTAINER, 'volumeMounts'], 'db-password'), 'mountPath'], path.posix.dirname(file))
}

/** Each variable is an entry of the template's env list (a Kubernetes env list cannot say "add if missing"). */
function setEnv(doc: Document, container: (string | number)[], values: Readonly<Record<string, string>>): void {
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

function flow(doc: Document, values: readonly string[]) {
  const node = doc.createNode([...values])
  node.flow = true
  return node
}
