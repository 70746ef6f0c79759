/**
 * `stackctl render --target kubernetes`: the stack's settings (project, PostgreSQL major, stack directory)
 * and its password file's path → a kustomize-ready directory. No Docker engine is involved: only stack.json
 * is read, and the password file is checked to exist (lstat, never followed), never read.
 */
import {readFile} from 'node:fs/promises'
import path from 'node:path'

import {
  ENV,
  resolveStackConfig,
  resolveStackDir,
  type StackConfig,
  type StackConfigInput,
} from '../../model/config/stack-config.js'
import {StackctlError, UsageError} from '../../errors.js'
import {lstatOptional, UnsafePath} from '../../model/stackdir/files.js'
import {packageRoot} from '../../package-root.js'
import {readState, stackPaths, type StackPaths} from '../../model/stackdir/stack-files.js'
import {planImages, type KubernetesImages} from './images.js'
import {kubernetesNames, type KubernetesNames} from './names.js'
import {parseKubernetesOptions, type KubernetesFlags, type PostgresMode} from './options.js'
import {checkOutputDir, writeOutputDir, type OutputPlan} from './output-dir.js'
import {
  BACKUP_SECRET_KEYS,
  BARMAN_CLOUD_PLUGIN,
  CNPG_OWNER,
  manifestStream,
  renderKubernetes,
  TEMPLATE_NAMES,
  type KubernetesTemplates,
} from './render.js'
import {shellQuote} from '../../model/config/command-line.js'
import type {KubernetesBackupSettings} from '../../model/stack-model.js'
import type {BackupOptions} from './backup-options.js'

/** What `render --target kubernetes` prints with --json. */
export interface KubernetesRenderResult {
  target: 'kubernetes'
  /** Where the files are; null with --stdout. */
  outDir: string | null
  written: boolean
  /** kustomization.yaml and one file per object. */
  files: string[]
  namespace: string
  postgres: PostgresMode
  /** The images the manifests name: the cluster must be able to pull both. */
  images: KubernetesImages
  /** Build the API image (and, with --image-registry, put both images there). */
  imageCommands: string[]
  /** The Secret the manifests expect, and the command that makes it from the stack's password file. */
  secret: {name: string; command: string}
  /** The PersistentVolumeClaim that holds the data once applied. */
  dataClaim: string
  /** Whether the database's WAL is archived continuously, and what that means for the data, in a sentence. */
  archiving: {continuous: boolean; detail: string}
  /** CloudNativePG with --backup-destination: the Barman Cloud plugin's objects and their settings; null otherwise. */
  backup: KubernetesBackupReport | null
  /** Apply, wait, reach the API: in order. */
  next: string[]
  /** The objects as one YAML stream (--stdout only). */
  manifests: string | null
}

export interface KubernetesBackupReport {
  destination: string
  /** An S3-compatible store's URL; null: the provider's own. */
  endpoint: string | null
  /** The plugin's recovery window (30d). */
  retention: string
  /** The ScheduledBackup's schedule: six cron fields, seconds first, or a descriptor. */
  schedule: string
  /** The CNPG-I plugin that archives and backs up (installed separately). */
  plugin: string
  objectStore: string
  scheduledBackup: string
  /** The Secret with the store's keys: its name, the keys it must hold, and the command that makes it from the environment. */
  credentials: {name: string; keys: string[]; command: string}
}

export interface KubernetesRequest {
  config: StackConfigInput
  kubernetes: KubernetesFlags
  /** stackctl's version: the API image's tag. */
  version: string
  stdout: boolean
  force: boolean
  env?: NodeJS.ProcessEnv
  cwd?: string
}

export interface KubernetesRender {
  /** What the command's lock needs. */
  stack: {config: StackConfig; paths: StackPaths}
  result: KubernetesRenderResult
  output?: OutputPlan
}

export const KUBERNETES_TEMPLATE_DIR = path.join(packageRoot, 'templates', 'kubernetes')

/** Everything checked and rendered; nothing written yet. */
export async function planKubernetes(request: KubernetesRequest): Promise<KubernetesRender> {
  const env = request.env ?? process.env
  const cwd = request.cwd ?? process.cwd()
  const options = parseKubernetesOptions(request.kubernetes)
  if (request.stdout && options.out !== undefined) {
    throw new UsageError('--out and --stdout exclude each other', 'pass one: --stdout prints, --out DIR writes')
  }
  const {config, paths} = await loadRenderedStack(request.config, env, cwd)
  await assertPasswordFile(paths)
  const names = kubernetesNames(config.project, options.postgres)
  const namespace = options.namespace ?? names.base
  const plan = planImages(config.pgMajor, options.postgres, request.version, paths.appContext, options.registry)
  const backup = options.backup ? backupSettings(options.backup, names) : undefined
  const files = renderKubernetes(await readTemplates(), {
    pgMajor: config.pgMajor,
    namespace,
    replicas: options.replicas,
    storage: {size: options.storageSize, className: options.storageClass},
    postgres: options.postgres,
    images: plan.images,
    names,
    backup,
  })
  const outDir = request.stdout ? null : path.resolve(cwd, options.out ?? path.join(paths.dir, 'kubernetes'))
  const output = outDir === null ? undefined : await checkOutputDir(outDir, files, request.force)
  const secret = secretCommand(options.postgres, names.secret, namespace, paths.passwordFile)
  const backupReport = backup ? reportBackup(backup, namespace) : null
  const result: KubernetesRenderResult = {
    target: 'kubernetes',
    outDir,
    written: false,
    files: files.map((file) => file.name),
    namespace,
    postgres: options.postgres,
    images: plan.images,
    imageCommands: plan.commands,
    secret: {name: names.secret, command: secret},
    dataClaim: names.dataClaim,
    archiving: archiving(options.postgres, backup),
    backup: backupReport,
    next: nextSteps(
      options.postgres,
      names,
      namespace,
      [secret, ...(backupReport ? [backupReport.credentials.command] : [])],
      outDir,
    ),
    manifests: outDir === null ? manifestStream(files) : null,
  }
  return {stack: {config, paths}, result, output}
}

/** The Secret the manifests reference, made by kubectl from the password file (stackctl never reads it). */
function secretCommand(mode: PostgresMode, name: string, namespace: string, passwordFile: string): string {
  const from = `--from-file=password=${shellQuote(passwordFile)}`
  return mode === 'cloudnative-pg'
    ? `kubectl create secret generic ${name} --namespace ${namespace} --type=kubernetes.io/basic-auth --from-literal=username=${CNPG_OWNER} ${from}`
    : `kubectl create secret generic ${name} --namespace ${namespace} ${from}`
}

/** The objects' names next to the Cluster's, and the credentials Secret's default name. */
export function backupSettings(options: BackupOptions, names: KubernetesNames): KubernetesBackupSettings {
  return {
    ...options,
    credentialsSecret: options.credentialsSecret ?? `${names.db}-backup-credentials`,
    objectStore: `${names.db}-backups`,
    scheduledBackup: `${names.db}-backup`,
  }
}

/**
 * The store's keys go into the Secret from the provider's usual environment variables, so the command works
 * pasted where they are set, and no key is ever in a file stackctl writes or in its output.
 */
function reportBackup(backup: KubernetesBackupSettings, namespace: string): KubernetesBackupReport {
  const {keys} = BACKUP_SECRET_KEYS[backup.provider]
  const from = keys.map(({key, from, env}) => `--from-${from}=${key}="$${env}"`)
  return {
    destination: backup.destination,
    endpoint: backup.endpoint ?? null,
    retention: backup.retention,
    schedule: backup.schedule,
    plugin: BARMAN_CLOUD_PLUGIN,
    objectStore: backup.objectStore,
    scheduledBackup: backup.scheduledBackup,
    credentials: {
      name: backup.credentialsSecret,
      keys: keys.map(({key}) => key),
      command: `kubectl create secret generic ${backup.credentialsSecret} --namespace ${namespace} ${from.join(' ')}`,
    },
  }
}

function archiving(
  mode: PostgresMode,
  backup: KubernetesBackupSettings | undefined,
): KubernetesRenderResult['archiving'] {
  if (backup) {
    return {
      continuous: true,
      detail: `the Cluster archives its WAL to ${backup.destination} through the Barman Cloud plugin, with a base backup at once and on '${backup.schedule}', kept for a recovery window of ${backup.retention}: a point-in-time restore is a new Cluster bootstrapped from ObjectStore ${backup.objectStore}`,
    }
  }
  return {
    continuous: false,
    detail:
      mode === 'cloudnative-pg'
        ? 'no continuous archiving: the Cluster archives no WAL and takes no backup (no point-in-time restore; a lost claim loses the data); render with --backup-destination s3://BUCKET/PATH (or gs://, or an Azure blob URL) for WAL archiving and scheduled backups'
        : 'no continuous archiving: the StatefulSet archives no WAL and takes no backup (no point-in-time restore; a lost claim loses the data); --postgres cloudnative-pg with --backup-destination archives it',
  }
}

function nextSteps(
  mode: PostgresMode,
  names: KubernetesNames,
  namespace: string,
  secrets: string[],
  outDir: string | null,
): string[] {
  const ns = `--namespace ${namespace}`
  return [
    `kubectl create namespace ${namespace}`,
    ...secrets,
    outDir === null ? 'kubectl apply -f - (the stream on stdout)' : `kubectl apply -k ${shellQuote(outDir)}`,
    mode === 'cloudnative-pg'
      ? `kubectl wait cluster/${names.db} ${ns} --for=condition=Ready --timeout=10m`
      : `kubectl rollout status statefulset/${names.db} ${ns} --timeout=10m`,
    `kubectl rollout status deployment/${names.app} ${ns} --timeout=5m`,
    `kubectl port-forward service/${names.app} ${ns} 5000:5000`,
  ]
}

/** Writes the planned directory (the caller holds the stack's lock). */
export async function writeKubernetes(render: KubernetesRender): Promise<KubernetesRenderResult> {
  if (!render.output) return render.result
  const {written} = await writeOutputDir(render.output)
  return {...render.result, written}
}

export async function readTemplates(dir = KUBERNETES_TEMPLATE_DIR): Promise<KubernetesTemplates> {
  const texts = await Promise.all(TEMPLATE_NAMES.map((name) => readFile(path.join(dir, name), 'utf8')))
  return Object.fromEntries(TEMPLATE_NAMES.map((name, index) => [name, texts[index]])) as KubernetesTemplates
}

/**
 * The settings of a stack `stackctl render` has written: the manifests carry its password, so there must be
 * one. As loadStack, a --project-name that is not the directory's is refused; unlike it, no engine is made.
 */
async function loadRenderedStack(flags: StackConfigInput, env: NodeJS.ProcessEnv, cwd: string) {
  const paths = stackPaths(resolveStackDir(flags.dir, env, cwd))
  const state = await readState(paths)
  if (!state) {
    throw new StackctlError(`${paths.dir} holds no rendered stack (no stack.json)`, {
      exitCode: 2,
      suggestion: `run stackctl render --dir ${shellQuote(paths.dir)} first: it creates the stack's password, which the manifests reference as a Secret`,
    })
  }
  const explicitProject = flags.project ?? (env[ENV.project] || undefined)
  if (explicitProject !== undefined && explicitProject !== state.settings.project) {
    throw new UsageError(
      `${paths.dir} is the stack directory of project '${state.settings.project}', not '${explicitProject}'`,
      `omit --project-name (and STACKCTL_PROJECT), or pass the --dir of project '${explicitProject}'`,
    )
  }
  return {config: resolveStackConfig(flags, env, state.settings, cwd), paths}
}

/** The password must exist as a regular file; its content is not read (it goes into the Secret by kubectl). */
async function assertPasswordFile(paths: StackPaths): Promise<void> {
  for (const [file, kind] of [
    [paths.secretsDir, 'directory'],
    [paths.passwordFile, 'file'],
  ] as const) {
    const info = await lstatOptional(file)
    if (info?.isSymbolicLink()) throw new UnsafePath(file, 'it is a symbolic link')
    if (info && (kind === 'file' ? !info.isFile() : !info.isDirectory())) {
      throw new UnsafePath(file, kind === 'file' ? 'it is not a regular file' : 'it is not a directory')
    }
    if (!info) {
      throw new StackctlError(`the password file ${paths.passwordFile} is missing`, {
        exitCode: 2,
        suggestion: `run stackctl render --dir ${shellQuote(paths.dir)} to create it (or restore secrets/db_password from your copy: a volume initialised with it needs the same one)`,
      })
    }
  }
}
