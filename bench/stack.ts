/**
 * The benchmark's own stack: a unique project, a temporary stack directory and a free port on 127.0.0.1,
 * started with the built CLI and removed at the end (containers, network, its volume, its directory, and the
 * app image only when this run's stack used it, it did not exist before the run and nothing else uses it).
 */
import {randomBytes} from 'node:crypto'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type Docker from 'dockerode'

import {freePort} from '../test/helpers/cli.js'
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

async function appImageIds(docker: Docker): Promise<Set<string>> {
  const images = await docker.listImages({filters: {reference: [APP_IMAGE_REPOSITORY]}})
  return new Set(images.map((image) => image.Id))
}

export async function createStack(docker: Docker): Promise<BenchStack> {
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
    appImagesBefore: await appImageIds(docker),
  }
}

export async function startStack(stack: BenchStack): Promise<void> {
  await runCli(['up', ...stack.cliArgs, '--host', '127.0.0.1', '--port', String(stack.port)], stack.env)
}

async function serviceContainer(docker: Docker, project: string, service: string) {
  const [container] = await docker.listContainers({
    filters: {label: [`com.docker.compose.project=${project}`, `com.docker.compose.service=${service}`]},
  })
  if (!container) throw new Error(`no running ${service} container in project ${project}`)
  return container
}

export async function containerIds(docker: Docker, stack: BenchStack): Promise<{app: string; db: string}> {
  const [app, db] = await Promise.all(['app', 'db'].map((service) => serviceContainer(docker, stack.project, service)))
  return {app: app.Id, db: db.Id}
}

export async function appImageId(docker: Docker, stack: BenchStack): Promise<string> {
  return (await serviceContainer(docker, stack.project, 'app')).ImageID
}

/**
 * Removes everything the run created, even after a failure half-way: `stackctl down --volumes --force`
 * first, then a sweep by the project's Compose label for whatever is left. Never throws; returns problems.
 */
export async function removeStack(docker: Docker, stack: BenchStack): Promise<string[]> {
  const problems: string[] = []
  const attempt = async <T>(what: string, task: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await task()
    } catch (error) {
      const status = (error as {statusCode?: number}).statusCode
      if (status !== 404) problems.push(`${what}: ${(error as Error).message}`)
      return undefined
    }
  }
  const label = {label: [`com.docker.compose.project=${stack.project}`]}
  const listContainers = () => attempt('list containers', () => docker.listContainers({all: true, filters: label}))
  const usedImages = new Set(((await listContainers()) ?? []).map((c) => c.ImageID))
  await attempt('stackctl down', () => runCli(['down', ...stack.cliArgs, '--volumes', '--force'], stack.env))
  for (const container of (await listContainers()) ?? []) {
    await attempt(`container ${container.Id}`, () => docker.getContainer(container.Id).remove({force: true, v: true}))
  }
  for (const network of (await attempt('list networks', () => docker.listNetworks({filters: label}))) ?? []) {
    await attempt(`network ${network.Name}`, () => docker.getNetwork(network.Id).remove())
  }
  const volumes = (await attempt('list volumes', () => docker.listVolumes({filters: label})))?.Volumes ?? []
  for (const name of new Set([...volumes.map((v) => v.Name), `${stack.project}_postgres_data`])) {
    await attempt(`volume ${name}`, () => docker.getVolume(name).remove({force: true}))
  }
  for (const id of (await attempt('list images', () => appImageIds(docker))) ?? []) {
    if (stack.appImagesBefore.has(id) || !usedImages.has(id)) continue
    // 409: another stack uses it (or another tag points at it); then it is not ours alone to remove.
    await attempt(`image ${id}`, () =>
      docker
        .getImage(id)
        .remove({noprune: false})
        .catch((error: {statusCode?: number}) => {
          if (error.statusCode !== 409) throw error
        }),
    )
  }
  await attempt(`directory ${stack.dir}`, () => rm(stack.dir, {recursive: true, force: true}))
  return problems
}
