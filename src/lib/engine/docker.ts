/**
 * dockerode lives behind this module: the rest of stackctl asks for a DockerEngine and tests can hand in a
 * client pointed at their own engine. The endpoint honours DOCKER_HOST like the docker CLI does.
 */
import Docker from 'dockerode'

import {EngineUnreachable} from '../errors.js'

export function engineEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_HOST || 'unix:///var/run/docker.sock'
}

export function createDocker(env: NodeJS.ProcessEnv = process.env): Docker {
  // docker-modem reads DOCKER_HOST itself; no API version is pinned so it negotiates down to old engines.
  return env === process.env ? new Docker() : new Docker(dockerOptionsFromHost(env.DOCKER_HOST))
}

function dockerOptionsFromHost(host: string | undefined): Docker.DockerOptions {
  if (!host) return {socketPath: '/var/run/docker.sock'}
  if (host.startsWith('unix://')) return {socketPath: host.slice('unix://'.length)}
  const url = new URL(host.replace(/^tcp:/, 'http:'))
  return {host: url.hostname, port: Number(url.port || 2375), protocol: 'http'}
}

/** Resolves when the engine answers; otherwise EngineUnreachable naming the endpoint. */
export async function assertEngineReachable(docker: Docker, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  try {
    await docker.ping()
  } catch (error) {
    throw new EngineUnreachable(engineEndpoint(env), error)
  }
}

export async function imageExists(docker: Docker, reference: string): Promise<boolean> {
  try {
    await docker.getImage(reference).inspect()
    return true
  } catch (error) {
    if ((error as {statusCode?: number}).statusCode === 404) return false
    throw error
  }
}

export interface ImageInfo {
  id: string
  sizeBytes: number
  labels: Record<string, string>
}

export async function inspectImage(docker: Docker, reference: string): Promise<ImageInfo | undefined> {
  try {
    const info = await docker.getImage(reference).inspect()
    return {id: info.Id, sizeBytes: info.Size, labels: info.Config?.Labels ?? {}}
  } catch (error) {
    if ((error as {statusCode?: number}).statusCode === 404) return undefined
    throw error
  }
}

/**
 * Removes an image by id unless something still needs it: the engine refuses (409) while a container uses it
 * or another tag points at it, and that refusal is an answer here, not an error. Resolves whether it went.
 */
export async function removeImageIfUnused(docker: Docker, id: string): Promise<boolean> {
  try {
    await docker.getImage(id).remove({force: false, noprune: false})
    return true
  } catch (error) {
    const status = (error as {statusCode?: number}).statusCode
    if (status === 404 || status === 409) return false
    throw error
  }
}
