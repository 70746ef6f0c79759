/**
 * The benchmark's own stack: a unique project, a temporary stack directory and a free port on 127.0.0.1,
 * started with the built CLI and removed at the end (containers, network, its volumes, its directory, and the
 * app image only when this run's stack used it, it did not exist before the run and nothing else uses it).
 */
import {randomBytes} from 'node:crypto'
import {chown, mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {volumeName} from '../src/lib/model/config/stack-config.js'
import {backupsVolumeName} from '../src/lib/model/protection.js'
import type {Engine} from '../src/lib/engine/engine.js'
import {runningService} from '../src/lib/engine/services.js'
import {freePort} from '../src/lib/engine/net/ports.js'
import {run} from '../src/lib/engine/process/run.js'
import {runCli, type ProcessResult, type RunAs} from './proc.js'

export const APP_IMAGE_REPOSITORY = 'stackctl-app'

export interface BenchStack {
  project: string
  dir: string
  port: number
  url: string
  composeFile: string
  /** Selects this stack in every stackctl command. */
  cliArgs: string[]
  env: NodeJS.ProcessEnv
  /** The engine's endpoint for the `docker` processes run here; undefined: this process's own (DOCKER_HOST). */
  dockerHost?: string
  /** stackctl runs as this user (a rootless engine's own), which owns the stack directory. */
  user?: RunAs
  /** App image ids present before the run: those are never removed. */
  appImagesBefore: Set<string>
}

/** Another engine than this process's own: its endpoint, and for a rootless one the user stackctl runs as. */
export interface StackEngine {
  dockerHost: string
  user?: RunAs & {home: string}
}

/** `docker images` arguments for the full ids of every app image. */
export function appImageListArgs(): string[] {
  return ['images', '--quiet', '--no-trunc', '--filter', `reference=${APP_IMAGE_REPOSITORY}`]
}

/** The environment of a `docker` process aimed at the stack's engine. */
function dockerEnv(dockerHost: string | undefined): NodeJS.ProcessEnv {
  return dockerHost ? {DOCKER_HOST: dockerHost} : {}
}

async function appImageIds(dockerHost: string | undefined): Promise<Set<string>> {
  const {stdout} = await run('docker', appImageListArgs(), {env: dockerEnv(dockerHost)})
  return new Set(stdout.split('\n').filter(Boolean))
}

/** A new stack's names, directory and port; on `on`, its engine and user (who then owns the directory). */
export async function createStack(on?: StackEngine): Promise<BenchStack> {
  const project = `st-bench-${randomBytes(4).toString('hex')}`
  const dir = await mkdtemp(path.join(tmpdir(), 'stackctl-bench-'))
  if (on?.user) await chown(dir, on.user.uid, on.user.gid)
  const port = await freePort()
  return {
    project,
    dir,
    port,
    url: `http://127.0.0.1:${port}`,
    composeFile: path.join(dir, 'docker-compose.yml'),
    cliArgs: ['--dir', dir, '--project-name', project],
    env: {
      STACKCTL_IMAGE_SOURCE: process.env.STACKCTL_IMAGE_SOURCE || 'local',
      ...dockerEnv(on?.dockerHost),
      ...(on?.user ? {HOME: on.user.home} : {}),
    },
    dockerHost: on?.dockerHost,
    user: on?.user && {uid: on.user.uid, gid: on.user.gid},
    appImagesBefore: await appImageIds(on?.dockerHost),
  }
}

/** `stackctl up` of the stack (its first, or after `down`), with `extraArgs`; the result carries its wall time. */
export function startStack(
  stack: BenchStack,
  signal?: AbortSignal,
  extraArgs: readonly string[] = [],
): Promise<ProcessResult> {
  const args = ['up', ...stack.cliArgs, '--host', '127.0.0.1', '--port', String(stack.port), ...extraArgs]
  return runCli(args, stack.env, {user: stack.user, signal})
}

/** `stackctl down` of the stack: its containers go, its volumes stay. */
export function stopStack(stack: BenchStack, signal?: AbortSignal): Promise<ProcessResult> {
  return runCli(['down', ...stack.cliArgs], stack.env, {user: stack.user, signal})
}

async function serviceContainer(engine: Engine, project: string, service: string) {
  const container = await runningService(engine, project, service)
  if (!container) throw new Error(`no running ${service} container in project ${project}`)
  return container
}

export async function containerIds(engine: Engine, stack: BenchStack): Promise<{app: string; db: string}> {
  const [app, db] = await Promise.all(['app', 'db'].map((service) => serviceContainer(engine, stack.project, service)))
  return {app: app.id, db: db.id}
}

export async function appImage(engine: Engine, stack: BenchStack): Promise<string> {
  return (await serviceContainer(engine, stack.project, 'app')).image
}

/**
 * Removes everything the run created, even after a failure half-way: `stackctl down --volumes --force`
 * first, then a sweep by the project's Compose label for whatever is left. Never throws; returns problems.
 */
export async function removeStack(engine: Engine, stack: BenchStack): Promise<string[]> {
  const problems: string[] = []
  const attempt = async <T>(what: string, task: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await task()
    } catch (error) {
      problems.push(`${what}: ${(error as Error).message}`)
      return undefined
    }
  }
  // `docker rm/network rm/volume rm/rmi` through the runner; "no such" answers mean already gone.
  const remove = (args: string[]) =>
    run('docker', args, {reject: false, env: dockerEnv(stack.dockerHost)}).then((result) => {
      if (result.exitCode !== 0 && !/no such|not found/i.test(result.stderr)) throw new Error(result.stderr.trim())
    })
  const listByLabel = async (kind: 'ps' | 'volume', label: string) => {
    const args = kind === 'ps' ? ['ps', '--all', '--quiet'] : ['volume', 'ls', '--quiet']
    const listed = await attempt(`list ${label}`, () =>
      run('docker', [...args, '--filter', `label=${label}`], {env: dockerEnv(stack.dockerHost)}),
    )
    return listed?.stdout.split('\n').filter(Boolean) ?? []
  }
  const listContainers = () => attempt('list containers', () => engine.containers.list({project: stack.project}))
  const usedImages = new Set(((await listContainers()) ?? []).map((c) => c.imageId))
  await attempt('stackctl down', () =>
    runCli(['down', ...stack.cliArgs, '--volumes', '--force'], stack.env, {user: stack.user}),
  )
  for (const container of (await listContainers()) ?? []) {
    await attempt(`container ${container.name}`, () => remove(['rm', '--force', '--volumes', container.id]))
  }
  for (const network of (await attempt('list networks', () => engine.networks.listByProject(stack.project))) ?? []) {
    await attempt(`network ${network}`, () => remove(['network', 'rm', network]))
  }
  // The ceiling server (bench/ceiling.ts), when a failure or Ctrl-C came before its own removal.
  const ceilings = await attempt('list ceiling containers', () =>
    run('docker', ['ps', '--all', '--quiet', '--filter', `label=io.stackctl.bench.ceiling-of=${stack.project}`], {
      env: dockerEnv(stack.dockerHost),
    }),
  )
  for (const id of ceilings?.stdout.split('\n').filter(Boolean) ?? []) {
    await attempt(`ceiling container ${id}`, () => remove(['rm', '--force', id]))
  }
  // db restore's recovery server carries stackctl's label, not Compose's.
  for (const id of await listByLabel('ps', `io.stackctl.project=${stack.project}`)) {
    await attempt(`container ${id}`, () => remove(['rm', '--force', id]))
  }
  // The data volume, and the WAL archive's volume that `down --volumes` keeps by design (this run made both).
  for (const volume of [volumeName(stack.project), backupsVolumeName(stack.project)]) {
    await attempt(`volume ${volume}`, () => remove(['volume', 'rm', '--force', volume]))
  }
  // The volumes db restore made (Compose's label) and anything else with stackctl's label for this project.
  for (const label of [`com.docker.compose.project=${stack.project}`, `io.stackctl.project=${stack.project}`]) {
    for (const name of await listByLabel('volume', label)) {
      await attempt(`volume ${name}`, () => remove(['volume', 'rm', '--force', name]))
    }
  }
  for (const id of (await attempt('list images', () => appImageIds(stack.dockerHost))) ?? []) {
    if (stack.appImagesBefore.has(id) || !usedImages.has(id)) continue
    // Refused while another stack uses it (or another tag points at it): then it is not ours alone to remove.
    await attempt(`image ${id}`, () => engine.images.removeIfUnused(id))
  }
  await attempt(`directory ${stack.dir}`, () => rm(stack.dir, {recursive: true, force: true}))
  return problems
}
