/**
 * The benchmark's own stack: a unique project, a temporary stack directory and a free port on 127.0.0.1,
 * started with the built CLI and removed at the end (containers, network, its volume, its directory, and the
 * app image only when this run's stack used it, it did not exist before the run and nothing else uses it).
 */
import {randomBytes} from 'node:crypto'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {volumeName} from '../src/lib/model/config/stack-config.js'
import type {Engine} from '../src/lib/engine/engine.js'
import {runningService} from '../src/lib/engine/services.js'
import {freePort} from '../src/lib/engine/net/ports.js'
import {run} from '../src/lib/engine/process/run.js'
import {runCli} from './proc.js'

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
  /** App image ids present before the run: those are never removed. */
  appImagesBefore: Set<string>
}

/** `docker images` arguments for the full ids of every app image. */
export function appImageListArgs(): string[] {
  return ['images', '--quiet', '--no-trunc', '--filter', `reference=${APP_IMAGE_REPOSITORY}`]
}

async function appImageIds(): Promise<Set<string>> {
  const {stdout} = await run('docker', appImageListArgs())
  return new Set(stdout.split('\n').filter(Boolean))
}

export async function createStack(): Promise<BenchStack> {
  const project = `st-bench-${randomBytes(4).toString('hex')}`
  const dir = await mkdtemp(path.join(tmpdir(), 'stackctl-bench-'))
  const port = await freePort()
  return {
    project,
    dir,
    port,
    url: `http://127.0.0.1:${port}`,
    composeFile: path.join(dir, 'docker-compose.yml'),
    cliArgs: ['--dir', dir, '--project-name', project],
    env: {STACKCTL_IMAGE_SOURCE: process.env.STACKCTL_IMAGE_SOURCE || 'local'},
    appImagesBefore: await appImageIds(),
  }
}

export async function startStack(stack: BenchStack, extraArgs: readonly string[] = []): Promise<void> {
  await runCli(['up', ...stack.cliArgs, '--host', '127.0.0.1', '--port', String(stack.port), ...extraArgs], stack.env)
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
    run('docker', args, {reject: false}).then((result) => {
      if (result.exitCode !== 0 && !/no such|not found/i.test(result.stderr)) throw new Error(result.stderr.trim())
    })
  const listByLabel = async (kind: 'ps' | 'volume', label: string) => {
    const args = kind === 'ps' ? ['ps', '--all', '--quiet'] : ['volume', 'ls', '--quiet']
    const listed = await attempt(`list ${label}`, () => run('docker', [...args, '--filter', `label=${label}`]))
    return listed?.stdout.split('\n').filter(Boolean) ?? []
  }
  const listContainers = () => attempt('list containers', () => engine.containers.list({project: stack.project}))
  const usedImages = new Set(((await listContainers()) ?? []).map((c) => c.imageId))
  await attempt('stackctl down', () => runCli(['down', ...stack.cliArgs, '--volumes', '--force'], stack.env))
  for (const container of (await listContainers()) ?? []) {
    await attempt(`container ${container.name}`, () => remove(['rm', '--force', '--volumes', container.id]))
  }
  for (const network of (await attempt('list networks', () => engine.networks.listByProject(stack.project))) ?? []) {
    await attempt(`network ${network}`, () => remove(['network', 'rm', network]))
  }
  // The ceiling server (bench/ceiling.ts), when a failure or Ctrl-C came before its own removal.
  const ceilings = await attempt('list ceiling containers', () =>
    run('docker', ['ps', '--all', '--quiet', '--filter', `label=io.stackctl.bench.ceiling-of=${stack.project}`]),
  )
  for (const id of ceilings?.stdout.split('\n').filter(Boolean) ?? []) {
    await attempt(`ceiling container ${id}`, () => remove(['rm', '--force', id]))
  }
  // db restore's recovery server carries stackctl's label, not Compose's.
  for (const id of await listByLabel('ps', `io.stackctl.project=${stack.project}`)) {
    await attempt(`container ${id}`, () => remove(['rm', '--force', id]))
  }
  const volume = volumeName(stack.project)
  await attempt(`volume ${volume}`, () => remove(['volume', 'rm', '--force', volume]))
  // The volumes db restore made (Compose's label) and the WAL archive, <project>_backups (stackctl's label).
  for (const label of [`com.docker.compose.project=${stack.project}`, `io.stackctl.project=${stack.project}`]) {
    for (const name of await listByLabel('volume', label)) {
      await attempt(`volume ${name}`, () => remove(['volume', 'rm', '--force', name]))
    }
  }
  for (const id of (await attempt('list images', () => appImageIds())) ?? []) {
    if (stack.appImagesBefore.has(id) || !usedImages.has(id)) continue
    // Refused while another stack uses it (or another tag points at it): then it is not ours alone to remove.
    await attempt(`image ${id}`, () => engine.images.removeIfUnused(id))
  }
  await attempt(`directory ${stack.dir}`, () => rm(stack.dir, {recursive: true, force: true}))
  return problems
}
