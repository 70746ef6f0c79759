/**
 * Pure rendering: the templates under templates/kubernetes/ + typed inputs → one YAML file per object and a
 * kustomization.yaml listing them, through the stack model (src/lib/model) the Compose and Swarm files are
 * rendered from too. No I/O here (render-kubernetes.ts reads the templates, output-dir.ts writes the files).
 */
import {toKubernetes, type KubernetesTemplates, type ManifestFile} from '../../model/kubernetes-writer.js'
import {kubernetesPgData, stackModel, type KubernetesBackupSettings, type StackModel} from '../../model/stack-model.js'
import type {KubernetesImages} from './images.js'
import type {KubernetesNames} from './names.js'
import type {PostgresMode} from './options.js'

export {
  BACKUP_OBJECTS,
  BACKUP_SECRET_KEYS,
  BARMAN_CLOUD_PLUGIN,
  MODE_OBJECTS,
  NO_ARCHIVING,
  TEMPLATE_NAMES,
  type KubernetesTemplates,
  type ManifestFile,
  type TemplateName,
} from '../../model/kubernetes-writer.js'
export {CNPG_OWNER, pgIsReady} from '../../model/stack-model.js'

export interface KubernetesRenderInput {
  pgMajor: number
  namespace: string
  replicas: number
  storage: {size: string; className?: string}
  postgres: PostgresMode
  images: KubernetesImages
  names: KubernetesNames
  /** CloudNativePG's backup section; undefined: none (the Cluster's file says so). */
  backup?: KubernetesBackupSettings
}

/** kustomization.yaml first, then one file per object. */
export function renderKubernetes(templates: KubernetesTemplates, input: KubernetesRenderInput): ManifestFile[] {
  return toKubernetes(kubernetesModel(input), templates)
}

/** The stack as Kubernetes runs it: no host port or Compose identity, a claim instead of a named volume. */
export function kubernetesModel(input: KubernetesRenderInput): StackModel {
  // The project's Kubernetes name (names.ts derives it from the project); no object is named after the volume.
  return stackModel(
    {project: input.names.base, pgMajor: input.pgMajor},
    {
      images: {postgres: input.images.postgres},
      appImage: input.images.app,
      replicas: input.replicas,
      kubernetes: {
        namespace: input.namespace,
        postgres: input.postgres,
        names: input.names,
        storage: input.storage,
        backup: input.backup,
      },
    },
  )
}

/** The objects as one multi-document stream, for `kubectl apply -f -` (each carries its namespace). */
export function manifestStream(files: ManifestFile[]): string {
  return files
    .filter((file) => file.name !== 'kustomization.yaml')
    .map((file) => file.text)
    .join('---\n')
}

/** PGDATA in a subdirectory of the volume; 18+ as the official image's new layout (/var/lib/postgresql/18/docker). */
export const pgData = kubernetesPgData
