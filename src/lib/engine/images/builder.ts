/**
 * Builds the stack's base images without a registry: debootstrap a minimal Debian with the image's package
 * into a temporary folder, trim it, `docker import` it as an intermediate rootfs image, then `docker build`
 * the Dockerfile from templates/images/<name>/ on top. Each image records a digest of its template; an image
 * that is current is kept (a second run takes seconds), and one whose template changed since (a new
 * entrypoint) gets only the final `docker build` again, on the rootfs image that is there. The images build
 * concurrently; the temporary folders are always removed.
 */
import {mkdtemp, readFile, readdir} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {performance} from 'node:perf_hooks'

import createDebug from 'debug'

import {withInterrupts} from '../../cli/interrupt.js'
import type {Engine, ImageInfo} from '../engine.js'
import {Interrupted, ProcessFailed, StackctlError} from '../../errors.js'
import {packageRoot} from '../../package-root.js'
import {DockerCli} from '../docker-cli.js'
import {run} from '../process/run.js'
import {debootstrapProgress} from './debootstrap-progress.js'
import {
  BUILD_LABEL_PREFIX,
  DEFAULT_MIRROR,
  IMAGE_ENV,
  type BuildPlan,
  type ImageName,
  type ImageSpec,
  type SourceOptions,
  type TemplateFile,
  buildArgs,
  buildEnv,
  buildLabels,
  debootstrapArgs,
  finishLabels,
  imageReference,
  importArgs,
  normalizeMirror,
  packageSet,
  planBuild,
  trimDigest,
  rootfsReference,
  selectSpecs,
  sourceFor,
  tarArgs,
  templateDigest,
  trimRules,
  validateSuite,
} from './image-specs.js'
import {assertRoot, buildxAvailable, checkMirror, findDebootstrap} from './preflight.js'
import {installedVersion, removeBuildDir, trimRootfs} from './rootfs.js'

const debug = createDebug('stackctl:images')
const MINUTE = 60_000

export interface BuildImagesOptions {
  /** The engine that builds and keeps the images (the host's, from the base command). */
  engine: Engine
  /** `docker build`/`import` against that engine (the base command's factory makes it). */
  docker: DockerCli
  /** Build one image only (postgres | node). */
  only?: string
  /** The PostgreSQL majors to build (default 17): each has its own image, from the Debian release shipping it. */
  pgMajors?: readonly number[]
  /** Rebuild images that exist, from debootstrap. */
  force?: boolean
  /** Defaults to $STACKCTL_DEBIAN_MIRROR, then deb.debian.org. */
  mirror?: string
  /** Defaults to $STACKCTL_DEBIAN_SUITE, then each image's own release (trixie; bookworm for PostgreSQL 15). */
  suite?: string
  progress?: (line: string) => void
  /** The start of the next step (the step display times each one). */
  phase?: (label: string) => void
}

export interface ImageResult {
  name: ImageName
  /** The full reference, e.g. stackctl/postgres:17. */
  image: string
  tag: string
  /** rebuilt: only the final docker build, on the rootfs image that was there, because the template changed. */
  status: 'built' | 'rebuilt' | 'present'
  seconds: number
  sizeBytes: number
  /** The Debian package's version in the image, e.g. 17.6-0+deb13u1. */
  packageVersion: string | null
}

export interface BuildImagesResult {
  images: ImageResult[]
  seconds: number
}

interface BuildContext {
  engine: Engine
  /** The docker CLI of the environment's engine: `docker build` and `docker import` have no Engine API call here. */
  docker: DockerCli
  buildEnv: Record<string, string>
  signal: AbortSignal
  progress: (line: string) => void
}

interface PlannedImage<P extends BuildPlan = BuildPlan> {
  spec: ImageSpec
  source: SourceOptions
  plan: P
  templateSha256: string
  previous: {image?: ImageInfo; rootfs?: ImageInfo}
}

type ToBuild = PlannedImage<Exclude<BuildPlan, {action: 'keep'}>>

function toBuild(image: PlannedImage): image is ToBuild {
  return image.plan.action !== 'keep'
}

export async function buildImages(options: BuildImagesOptions): Promise<BuildImagesResult> {
  const started = performance.now()
  const specs = selectSpecs(options.only, options.pgMajors)
  const mirror = normalizeMirror(options.mirror ?? process.env[IMAGE_ENV.mirror] ?? DEFAULT_MIRROR)
  const suiteOption = options.suite || process.env[IMAGE_ENV.suite] || undefined
  const suite = suiteOption === undefined ? undefined : validateSuite(suiteOption)
  const progress = options.progress ?? (() => {})
  const phase = options.phase ?? (() => {})
  const engine = options.engine
  phase('check the images present')
  await engine.ping()

  const results = new Map<string, ImageResult>()
  const planned: ToBuild[] = []
  for (const spec of specs) {
    const image = await planImage(engine, spec, sourceFor(spec, mirror, suite), options.force)
    if (toBuild(image)) planned.push(image)
    else results.set(imageReference(spec), presentImage(spec, image.previous.image!, started))
  }
  const full = planned.filter((image) => image.plan.action === 'full')
  if (full.length > 0) phase('check debootstrap and the Debian mirror')
  const debootstrap = full.length > 0 ? await preflightFullBuild(full, progress) : ''

  if (planned.length > 0) {
    // The images build side by side: one step for all of them.
    phase(`build ${planned.map((image) => imageReference(image.spec)).join(', ')}`)
    const env = buildEnv(await buildxAvailable(options.docker))
    const built = await withInterrupts(async (signal) => {
      const outcomes = await Promise.allSettled(
        planned.map((image) => {
          const ctx = {engine, docker: options.docker, buildEnv: env, signal, progress}
          progress(buildAnnouncement(image.spec.name, imageReference(image.spec), image.plan))
          return image.plan.action === 'finish' ? finishImage(image, ctx) : buildImage(image, ctx, debootstrap)
        }),
      )
      if (signal.aborted) throw new Interrupted('image build stopped; temporary files removed, no image changed')
      return outcomes
    })
    const failure = built.find((outcome) => outcome.status === 'rejected')
    if (failure) throw failure.reason
    for (const outcome of built) if (outcome.status === 'fulfilled') results.set(outcome.value.image, outcome.value)
  }

  return {images: specs.map((spec) => results.get(imageReference(spec))!), seconds: elapsed(started)}
}

/** Only a build from debootstrap needs root, debootstrap and the mirror; returns debootstrap's path. */
async function preflightFullBuild(images: readonly ToBuild[], progress: (line: string) => void): Promise<string> {
  assertRoot()
  const debootstrap = await findDebootstrap()
  const checked = new Set<string>()
  for (const {source} of images) {
    if (checked.has(`${source.mirror} ${source.suite}`)) continue
    checked.add(`${source.mirror} ${source.suite}`)
    progress(`checking the Debian mirror ${source.mirror} (${source.suite})`)
    await checkMirror(source.mirror, source.suite)
  }
  return debootstrap
}

async function planImage(
  engine: Engine,
  spec: ImageSpec,
  source: SourceOptions,
  force?: boolean,
): Promise<PlannedImage> {
  const image = await engine.images.inspect(imageReference(spec))
  const rootfs = await engine.images.inspect(rootfsReference(spec))
  const templateSha256 = templateDigest(await readTemplate(templateDir(spec)))
  const plan = planBuild({
    imageLabels: image?.labels,
    rootfsPresent: rootfs !== undefined,
    templateSha256,
    packages: packageSet(spec),
    trim: trimDigest(spec),
    force,
  })
  debug('%s: %o', spec.name, plan)
  return {spec, source, plan, templateSha256, previous: {image, rootfs}}
}

function presentImage(spec: ImageSpec, info: ImageInfo, started: number): ImageResult {
  return {
    ...identity(spec),
    status: 'present',
    seconds: elapsed(started),
    sizeBytes: info.sizeBytes,
    packageVersion: info.labels[`${BUILD_LABEL_PREFIX}.package-version`] ?? null,
  }
}

/**
 * What is built, why, and how long it takes, said before it starts: a build from Debian packages is about a
 * minute on an idle machine and several on a busy one (7.5 minutes was seen beside another build), so a long
 * quiet step is not taken for a hang.
 */
export function buildAnnouncement(
  name: string,
  reference: string,
  plan: {action: 'finish' | 'full'; reason: string},
): string {
  const how =
    plan.action === 'full'
      ? 'building it from Debian packages (about a minute on an idle machine, several minutes on a busy one)'
      : 'rebuilding it on its rootfs (seconds)'
  return `${name}: ${reference} is ${plan.reason}: ${how}`
}

/** The stale image's replacement: the current template built on the rootfs image that is there. */
async function finishImage(image: ToBuild, ctx: BuildContext): Promise<ImageResult> {
  const started = performance.now()
  const {spec, previous} = image
  const log = (line: string) => ctx.progress(`${spec.name}: ${line}`)
  log(`build ${imageReference(spec)} on ${rootfsReference(spec)}`)
  await dockerBuild(spec, ctx, finishLabels(previous.image?.labels ?? {}, image.templateSha256))
  return finished(spec, ctx, 'rebuilt', started, [previous.image?.id])
}

async function buildImage(image: ToBuild, ctx: BuildContext, debootstrap: string): Promise<ImageResult> {
  const started = performance.now()
  const {spec, previous, source} = image
  const log = (line: string) => ctx.progress(`${spec.name}: ${line}`)

  const version = await withBuildDir(spec, log, async (rootfs) => {
    log(`debootstrap ${source.suite} with ${packageSet(spec).replaceAll(',', ', ')} from ${source.mirror}`)
    const condensed = debootstrapProgress((line) => log(`debootstrap: ${line}`))
    await run(debootstrap, debootstrapArgs(spec, rootfs, source), {
      env: {PATH: withSbin(process.env.PATH), LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive'},
      onLine: (line) => condensed(line),
      signal: ctx.signal,
      timeoutMs: 30 * MINUTE,
    }).catch((error: unknown) => {
      throw withSuggestion(error, 'check the mirror and suite; DEBUG=stackctl:* shows every command')
    })
    const freed = await trimRootfs(rootfs, trimRules(spec))
    log(`trim: removed ${megabytes(freed)} (package caches, lists, docs, man pages, translations)`)
    const packageVersion = await installedVersion(rootfs, spec.debianPackage)
    log(`import ${rootfsReference(spec)}`)
    await ctx.docker.importTar(tarArgs(rootfs), importArgs(spec, source), {signal: ctx.signal})
    return packageVersion
  })

  log(`build ${imageReference(spec)} (${spec.debianPackage} ${version})`)
  await dockerBuild(spec, ctx, buildLabels(spec, source, version, image.templateSha256))
  return finished(spec, ctx, 'built', started, [previous.image?.id, previous.rootfs?.id])
}

/** Reports the new image and removes the images it supersedes (unless a container still uses them). */
async function finished(
  spec: ImageSpec,
  ctx: BuildContext,
  status: 'built' | 'rebuilt',
  started: number,
  superseded: Array<string | undefined>,
): Promise<ImageResult> {
  const info = await ctx.engine.images.inspect(imageReference(spec))
  if (!info) throw new StackctlError(`docker build reported success but ${imageReference(spec)} is missing`)
  await removeSuperseded(ctx.engine, superseded, info.id)
  const result: ImageResult = {
    ...identity(spec),
    status,
    seconds: elapsed(started),
    sizeBytes: info.sizeBytes,
    packageVersion: info.labels[`${BUILD_LABEL_PREFIX}.package-version`] ?? null,
  }
  ctx.progress(
    `${spec.name}: ${status} ${result.image} (${megabytes(result.sizeBytes)}) in ${result.seconds.toFixed(1)} s`,
  )
  return result
}

function templateDir(spec: ImageSpec): string {
  return path.join(packageRoot, 'templates', spec.templateDir)
}

/** Every file under the template directory, with paths relative to it. */
async function readTemplate(dir: string): Promise<TemplateFile[]> {
  const entries = await readdir(dir, {recursive: true, withFileTypes: true})
  return Promise.all(
    entries
      .filter((entry) => entry.isFile())
      .map(async (entry) => {
        const file = path.join(entry.parentPath, entry.name)
        return {path: path.relative(dir, file).split(path.sep).join('/'), content: await readFile(file)}
      }),
  )
}

/** Runs `work` on a fresh rootfs path and removes the temporary folder afterwards, whatever happened. */
async function withBuildDir<T>(
  spec: ImageSpec,
  log: (line: string) => void,
  work: (rootfs: string) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), `stackctl-${spec.name}-`))
  debug('build folder %s', dir)
  let result: T
  try {
    result = await work(path.join(dir, 'rootfs'))
  } catch (error) {
    // Never hide the build's own failure behind the cleanup's.
    await removeBuildDir(dir).catch((cleanupError: Error) => log(cleanupError.message))
    throw error
  }
  await removeBuildDir(dir)
  return result
}

async function dockerBuild(spec: ImageSpec, ctx: BuildContext, labels: Record<string, string>): Promise<void> {
  await ctx.docker.build(buildArgs(spec, templateDir(spec), labels), {
    env: ctx.buildEnv,
    signal: ctx.signal,
    onLine: (line) => debug('%s build: %s', spec.name, line),
  })
}

/** After a rebuild the old image (and rootfs) are untagged; remove them unless a container uses them. */
async function removeSuperseded(engine: Engine, ids: Array<string | undefined>, current: string): Promise<void> {
  for (const id of ids) {
    if (id && id !== current && (await engine.images.removeIfUnused(id))) debug('removed superseded image %s', id)
  }
}

function identity(spec: ImageSpec): Pick<ImageResult, 'name' | 'image' | 'tag'> {
  return {name: spec.name, image: imageReference(spec), tag: spec.tag}
}

function withSuggestion(error: unknown, suggestion: string): unknown {
  return error instanceof ProcessFailed && !error.suggestion
    ? new ProcessFailed(error.command, error.processExitCode, error.stderr, suggestion)
    : error
}

function withSbin(pathEnv = ''): string {
  const dirs = pathEnv.split(path.delimiter).filter(Boolean)
  for (const dir of ['/usr/sbin', '/sbin']) if (!dirs.includes(dir)) dirs.push(dir)
  return dirs.join(path.delimiter)
}

function elapsed(since: number): number {
  return Math.round((performance.now() - since) / 100) / 10
}

export function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(0)} MB`
}
