/**
 * What the objects are called. Everything derives from the stack's project, so two stacks can share a
 * namespace; Compose allows '_' in a project name, Kubernetes does not, so it becomes '-'.
 */
import {VOLUME_KEY} from '../../model/config/stack-config.js'
import {UsageError} from '../../errors.js'
import type {PostgresMode} from './options.js'
import {suggestName} from './options.js'

export interface KubernetesNames {
  /** The objects' common prefix and their app.kubernetes.io/instance label. */
  base: string
  /** The StatefulSet and its headless Service, or the CloudNativePG Cluster. */
  db: string
  /** The Service the API connects to: the headless Service, or the Cluster's read-write service. */
  dbHost: string
  app: string
  /** The Secret the password goes into (created by the user from the stack's password file). */
  secret: string
  /** The claim template (StatefulSet) whose claim holds the data, like the Compose volume postgres_data. */
  claimTemplate: string
  /** The PersistentVolumeClaim that holds the data. */
  dataClaim: string
}

const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/
/** CloudNativePG refuses longer Cluster names (it derives job and pod names from them). */
const MAX_CNPG_CLUSTER_NAME = 50

export function kubernetesNames(project: string, mode: PostgresMode): KubernetesNames {
  const base = project.replaceAll('_', '-')
  if (!DNS_1035_LABEL.test(base)) {
    throw new UsageError(
      `project '${project}' cannot name Kubernetes objects: a Service name must start with a letter and end with a letter or digit`,
      `render a stack whose project fits: stackctl render --dir DIR --project-name ${fittingName(project)}`,
    )
  }
  const db = `${base}-db`
  if (mode === 'cloudnative-pg' && db.length > MAX_CNPG_CLUSTER_NAME) {
    throw new UsageError(
      `project '${project}' is too long for a CloudNativePG Cluster name (${db}: at most ${MAX_CNPG_CLUSTER_NAME} characters)`,
      `use --postgres statefulset, or a stack with a project of at most ${MAX_CNPG_CLUSTER_NAME - 3} characters`,
    )
  }
  const claimTemplate = VOLUME_KEY.replaceAll('_', '-')
  return {
    base,
    db,
    dbHost: mode === 'cloudnative-pg' ? `${db}-rw` : db,
    app: `${base}-app`,
    secret: mode === 'cloudnative-pg' ? `${db}-credentials` : `${db}-password`,
    claimTemplate,
    // CloudNativePG names an instance's claim after the instance, <cluster>-1 for the first.
    dataClaim: mode === 'cloudnative-pg' ? `${db}-1` : `${claimTemplate}-${db}-0`,
  }
}

function fittingName(project: string): string {
  const name = suggestName(project).replace(/-+$/, '')
  return /^[a-z]/.test(name) ? name : `stack-${name}`
}
