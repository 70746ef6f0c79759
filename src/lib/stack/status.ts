import {appUrl, volumeName} from '../config/stack-config.js'
import {projectContainers} from '../engine/containers.js'
import {assertEngineReachable} from '../engine/docker.js'
import type {StackContext} from './context.js'
import {volumeExists} from './volume.js'

export interface StackStatus {
  project: string
  url: string
  services: Array<{name: string; state: string; health: string}>
  volume: {name: string; exists: boolean}
}

export const SERVICES = ['db', 'app'] as const

export async function stackStatus(ctx: StackContext): Promise<StackStatus> {
  await assertEngineReachable(ctx.docker)
  const {project} = ctx.config
  const containers = await projectContainers(ctx.docker, project)
  const services = SERVICES.map((name) => {
    const container = containers.find((c) => c.service === name)
    return {name, state: container?.state ?? 'absent', health: container?.health ?? 'none'}
  })
  return {
    project,
    url: appUrl(ctx.config),
    services,
    volume: {name: volumeName(project), exists: await volumeExists(ctx.docker, project)},
  }
}

export function isHealthy(status: StackStatus): boolean {
  return status.services.every((s) => s.state === 'running' && s.health === 'healthy')
}
