/**
 * The model → one Kubernetes object per file and a kustomization.yaml listing them. The templates under
 * templates/kubernetes/ hold what never varies (security contexts, probe timings, requests) and the comments a
 * reader needs; the values the model decides (images, environment, probes, ports, replicas, limits, storage,
 * names) are written in here. Each template is edited as a YAML document, so its comments survive.
 */
import path from 'node:path'

import {isMap, parseDocument, type Document} from 'yaml'

import {memory} from './compose-writer.js'
import {
  CNPG_OWNER,
  type BackupProvider,
  type KubernetesBackupSettings,
  type KubernetesPlacement,
  type PostgresMode,
  type StackModel,
} from './stack-model.js'

export const TEMPLATE_NAMES = [
  'kustomization.yaml',
  'db-statefulset.yaml',
  'db-service.yaml',
  'db-networkpolicy.yaml',
  'cnpg-cluster.yaml',
  'cnpg-networkpolicy.yaml',
  'cnpg-objectstore.yaml',
  'cnpg-scheduledbackup.yaml',
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
/** With a backup destination (CloudNativePG only): where the WAL and backups go, and when a backup is taken. */
export const BACKUP_OBJECTS: ObjectTemplate[] = ['cnpg-objectstore.yaml', 'cnpg-scheduledbackup.yaml']
const APP_OBJECTS: ObjectTemplate[] = ['app-deployment.yaml', 'app-service.yaml', 'app-pdb.yaml']

/** The Barman Cloud plugin's name, as the Cluster and the ScheduledBackup refer to it. */
export const BARMAN_CLOUD_PLUGIN = 'barman-cloud.cloudnative-pg.io'

/**
 * The keys the store's credentials Secret must hold, by provider: where the ObjectStore reads each from (the
 * plugin's names) and the environment variable the printed `kubectl create secret` takes it from (the
 * provider's own CLI's variable, so the value never appears in a file or in stackctl's output).
 */
export const BACKUP_SECRET_KEYS: Record<
  BackupProvider,
  {block: string; keys: {field: string; key: string; from: 'literal' | 'file'; env: string}[]}
> = {
  s3: {
    block: 's3Credentials',
    keys: [
      {field: 'accessKeyId', key: 'ACCESS_KEY_ID', from: 'literal', env: 'AWS_ACCESS_KEY_ID'},
      {field: 'secretAccessKey', key: 'ACCESS_SECRET_KEY', from: 'literal', env: 'AWS_SECRET_ACCESS_KEY'},
    ],
  },
  gs: {
    block: 'googleCredentials',
    keys: [
      {field: 'applicationCredentials', key: 'gcsCredentials', from: 'file', env: 'GOOGLE_APPLICATION_CREDENTIALS'},
    ],
  },
  azure: {
    block: 'azureCredentials',
    keys: [
      {field: 'storageAccount', key: 'AZURE_STORAGE_ACCOUNT', from: 'literal', env: 'AZURE_STORAGE_ACCOUNT'},
      {field: 'storageKey', key: 'AZURE_STORAGE_KEY', from: 'literal', env: 'AZURE_STORAGE_KEY'},
    ],
  },
}

export interface ManifestFile {
  name: string
  text: string
}

const INSTANCE = 'app.kubernetes.io/instance'

/** kustomization.yaml first, then one file per object. */
export function toKubernetes(model: StackModel, templates: KubernetesTemplates): ManifestFile[] {
  const k8s = model.kubernetes
  if (!k8s) throw new Error('the stack model has no Kubernetes settings')
  const backup = k8s.postgres === 'cloudnative-pg' && k8s.backup ? BACKUP_OBJECTS : []
  const objects = [...MODE_OBJECTS[k8s.postgres], ...backup, ...APP_OBJECTS].map((name) => {
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
  'cnpg-cluster.yaml': (doc, model, {names, backup}) => {
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
    if (backup) {
      doc.setIn(
        ['spec', 'plugins'],
        [{name: BARMAN_CLOUD_PLUGIN, isWALArchiver: true, parameters: {barmanObjectName: backup.objectStore}}],
      )
    } else {
      // The template's header is the comment before its first key: the statement goes at its end.
      const first = (doc.contents as {items: {key: {commentBefore?: string | null}}[]}).items[0].key
      first.commentBefore = [first.commentBefore, ...NO_ARCHIVING.map((line) => ` ${line}`)].filter(Boolean).join('\n')
    }
  },
  'cnpg-objectstore.yaml': (doc, _model, k8s) => {
    const backup = requireBackup(k8s)
    doc.setIn(['metadata', 'name'], backup.objectStore)
    const configuration = doc.getIn(['spec', 'configuration'])
    if (!isMap(configuration)) throw new Error('template cnpg-objectstore.yaml has no spec.configuration')
    const credentials = BACKUP_SECRET_KEYS[backup.provider]
    const entries: [string, unknown][] = [
      ['destinationPath', backup.destination],
      ...(backup.endpoint ? [['endpointURL', backup.endpoint] as [string, unknown]] : []),
      [
        credentials.block,
        Object.fromEntries(credentials.keys.map(({field, key}) => [field, {name: backup.credentialsSecret, key}])),
      ],
    ]
    configuration.delete('destinationPath')
    configuration.items.unshift(...entries.map(([key, value]) => doc.createPair(key, value)))
    doc.setIn(['spec', 'retentionPolicy'], backup.retention)
  },
  'cnpg-scheduledbackup.yaml': (doc, _model, k8s) => {
    const backup = requireBackup(k8s)
    doc.setIn(['metadata', 'name'], backup.scheduledBackup)
    doc.setIn(['spec', 'schedule'], backup.schedule)
    doc.setIn(['spec', 'cluster', 'name'], k8s.names.db)
    doc.setIn(['spec', 'pluginConfiguration', 'name'], BARMAN_CLOUD_PLUGIN)
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

/** What the Cluster's file says when it has no backup section (the render's output says it too). */
export const NO_ARCHIVING = [
  'No continuous archiving: this Cluster archives no WAL and takes no backup, so there is no point-in-time',
  'restore and a lost claim loses the data. Render with --backup-destination (s3://, gs:// or an Azure blob URL)',
  'for WAL archiving and scheduled backups through the Barman Cloud plugin.',
]

function requireBackup(k8s: KubernetesPlacement): KubernetesBackupSettings {
  if (!k8s.backup) throw new Error('the backup objects are rendered only with a backup destination')
  return k8s.backup
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
