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
import {CNPG_OWNER, manifestStream, renderKubernetes, TEMPLATE_NAMES, type KubernetesTemplates} from './render.js'
import {shellQuote} from '../../model/config/command-line.js'

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
  /** Apply, wait, reach the API: in order. */
  next: string[]
  /** The objects as one YAML stream (--stdout only). */
  manifests: string | null
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
  const files = renderKubernetes(await readTemplates(), {
    pgMajor: config.pgMajor,
    namespace,
    replicas: options.replicas,
    storage: {size: options.storageSize, className: options.storageClass},
    postgres: options.postgres,
    images: plan.images,
    names,
  })
  const outDir = request.stdout ? null : path.resolve(cwd, options.out ?? path.join(paths.dir, 'kubernetes'))
  const output = outDir === null ? undefined : await checkOutputDir(outDir, files, request.force)
  const secret = secretCommand(options.postgres, names.secret, namespace, paths.passwordFile)
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
    next: nextSteps(options.postgres, names, namespace, secret, outDir),
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

function nextSteps(
  mode: PostgresMode,
  names: KubernetesNames,
  namespace: string,
  secret: string,
  outDir: string | null,
): string[] {
  const ns = `--namespace ${namespace}`
  return [
    `kubectl create namespace ${namespace}`,
    secret,
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
