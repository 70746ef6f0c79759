import {appUrl, volumeName} from '../config/stack-config.js'
import {projectContainers} from '../engine/containers.js'
import {assertEngineReachable} from '../engine/docker.js'
import type {StackContext} from './context.js'
import {volumeExists} from './volume.js'

export interface StackStatus {
  project: string
  url: string
  /** How the app runs: the built image (normal) or the working tree (dev); null when it is not there. */
  mode: 'normal' | 'dev' | null
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
  const app = containers.find((c) => c.service === 'app')
  return {
    project,
    url: appUrl(ctx.config),
    mode: app ? (app.mode === 'dev' ? 'dev' : 'normal') : null,
    services,
    volume: {name: volumeName(project), exists: await volumeExists(ctx.docker, project)},
  }
}

export function isHealthy(status: StackStatus): boolean {
  return status.services.every((s) => s.state === 'running' && s.health === 'healthy')
}
