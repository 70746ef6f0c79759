/** The kubernetes target's flags on `stackctl render`. None has a default here: a given one is a given one. */
import {Flags} from '@oclif/core'

import {BACKUP_DEFAULTS} from './backup-options.js'
import {KUBERNETES_DEFAULTS, MAX_REPLICAS, POSTGRES_MODES, type KubernetesFlags} from './options.js'

export const TARGETS = ['compose', 'kubernetes', 'swarm'] as const

export const targetFlag = {
  target: Flags.option({
    options: TARGETS,
    default: 'compose' as const,
    summary: 'What to render: the Compose stack, Kubernetes manifests (a kustomize directory), or a swarm stack file',
  })(),
}

const helpGroup = 'KUBERNETES'

export const kubernetesFlags = {
  out: Flags.string({helpGroup, summary: 'Directory for the manifests [default: <stack dir>/kubernetes]'}),
  namespace: Flags.string({helpGroup, summary: 'Namespace of every object [default: the project name]'}),
  replicas: Flags.integer({
    helpGroup,
    min: 1,
    max: MAX_REPLICAS,
    summary: `API replicas [default: ${KUBERNETES_DEFAULTS.replicas}]`,
  }),
  'storage-class': Flags.string({helpGroup, summary: "StorageClass of the data's claim [default: the cluster's]"}),
  'storage-size': Flags.string({
    helpGroup,
    summary: `Size of the data's claim, a quantity [default: ${KUBERNETES_DEFAULTS.storageSize}]`,
  }),
  'image-registry': Flags.string({
    helpGroup,
    summary: 'HOST[:PORT][/PATH] the cluster pulls both images from [default: their own registries]',
  }),
  postgres: Flags.option({
    helpGroup,
    options: POSTGRES_MODES,
    summary: `How PostgreSQL runs: a StatefulSet, or a CloudNativePG Cluster [default: ${KUBERNETES_DEFAULTS.postgres}]`,
  })(),
  'backup-destination': Flags.string({
    helpGroup,
    summary:
      'CloudNativePG: archive the WAL and keep base backups here, through the Barman Cloud plugin: s3://BUCKET/PATH, gs://BUCKET/PATH or https://ACCOUNT.blob.core.windows.net/CONTAINER/PATH [default: none, no archiving]',
  }),
  'backup-endpoint': Flags.string({
    helpGroup,
    summary: "An S3-compatible store's URL for an s3:// destination (MinIO: https://minio.example:9000)",
  }),
  'backup-credentials-secret': Flags.string({
    helpGroup,
    summary:
      "The Secret holding the store's keys (stackctl prints the command that makes it) [default: <cluster>-backup-credentials]",
  }),
  'backup-retention': Flags.string({
    helpGroup,
    summary: `Recovery window the backups and WAL are kept for: days, weeks or months [default: ${BACKUP_DEFAULTS.retention}]`,
  }),
  'backup-schedule': Flags.string({
    helpGroup,
    summary: `When the base backup runs: six cron fields, seconds first, or @daily [default: '${BACKUP_DEFAULTS.schedule}', 03:00 daily]`,
  }),
}

export type KubernetesFlagName = keyof typeof kubernetesFlags

/** The kubernetes flags that were given, by their flag names. */
export function givenKubernetesFlags(flags: KubernetesFlags): string[] {
  return (Object.keys(kubernetesFlags) as KubernetesFlagName[])
    .filter((name) => flags[name] !== undefined)
    .map((name) => `--${name}`)
}
