/**
 * The renders the golden files pin, shared by the unit tests (text, schemas) and the kubectl build test.
 */
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {parse} from 'yaml'

import {parseBackupOptions, type BackupFlags} from '../../../../src/lib/targets/kubernetes/backup-options.js'
import {planImages} from '../../../../src/lib/targets/kubernetes/images.js'
import {kubernetesNames} from '../../../../src/lib/targets/kubernetes/names.js'
import type {PostgresMode} from '../../../../src/lib/targets/kubernetes/options.js'
import {
  renderKubernetes,
  TEMPLATE_NAMES,
  type KubernetesRenderInput,
  type KubernetesTemplates,
  type ManifestFile,
} from '../../../../src/lib/targets/kubernetes/render.js'
import {backupSettings} from '../../../../src/lib/targets/kubernetes/render-kubernetes.js'
import type {KubernetesObject} from './models.js'

const templateDir = fileURLToPath(new URL('../../../../templates/kubernetes/', import.meta.url))
export const templates = Object.fromEntries(
  TEMPLATE_NAMES.map((name) => [name, readFileSync(path.join(templateDir, name), 'utf8')]),
) as KubernetesTemplates

export interface ScenarioOptions {
  project?: string
  pgMajor?: number
  namespace?: string
  replicas?: number
  storageClass?: string
  storageSize?: string
  postgres?: PostgresMode
  registry?: string
  /** The backup flags as given on the command line (CloudNativePG only). */
  backup?: BackupFlags
}

export function input(options: ScenarioOptions = {}): KubernetesRenderInput {
  const postgres = options.postgres ?? 'statefulset'
  const pgMajor = options.pgMajor ?? 17
  const names = kubernetesNames(options.project ?? 'demo', postgres)
  const backup = options.backup && parseBackupOptions(options.backup, postgres)
  return {
    pgMajor,
    namespace: options.namespace ?? names.base,
    replicas: options.replicas ?? 2,
    storage: {size: options.storageSize ?? '10Gi', className: options.storageClass},
    postgres,
    images: planImages(pgMajor, postgres, '1.2.3', '/home/dev/demo/.stackctl/app', options.registry).images,
    names,
    backup: backup ? backupSettings(backup, names) : undefined,
  }
}

/** Golden directory → what it pins. */
export const SCENARIOS: Record<string, ScenarioOptions> = {
  default: {},
  'replicas-3-storage-class-fast': {replicas: 3, storageClass: 'fast'},
  'pg-18': {pgMajor: 18},
  'cloudnative-pg': {postgres: 'cloudnative-pg'},
  'cloudnative-pg-backup-s3': {
    postgres: 'cloudnative-pg',
    backup: {
      'backup-destination': 's3://visits-backups/demo',
      'backup-endpoint': 'https://minio.example:9000',
      'backup-retention': '14d',
      'backup-schedule': '0 30 2 * * *',
    },
  },
}

/** The other providers' credentials blocks: validated against the CRDs like the golden renders. */
export const BACKUP_PROVIDERS: Record<string, ScenarioOptions> = {
  gs: {postgres: 'cloudnative-pg', backup: {'backup-destination': 'gs://visits-backups/demo'}},
  azure: {
    postgres: 'cloudnative-pg',
    backup: {
      'backup-destination': 'https://visitsbackups.blob.core.windows.net/visits/demo',
      'backup-credentials-secret': 'azure-keys',
    },
  },
}

export function render(options: ScenarioOptions = {}): ManifestFile[] {
  return renderKubernetes(templates, input(options))
}

export function objects(files: ManifestFile[]): KubernetesObject[] {
  return files.filter((file) => file.name !== 'kustomization.yaml').map((file) => parse(file.text) as KubernetesObject)
}

/** The one object of this kind. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests walk the objects' spec freely
export function find(files: ManifestFile[], kind: string, name?: string): any {
  const found = objects(files).filter((object) => object.kind === kind && (!name || object.metadata.name === name))
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`)
  return found[0]
}
