import type Docker from 'dockerode'

import {volumeName} from '../config/stack-config.js'

export async function volumeExists(docker: Docker, project: string): Promise<boolean> {
  try {
    await docker.getVolume(volumeName(project)).inspect()
    return true
  } catch (error) {
    if ((error as {statusCode?: number}).statusCode === 404) return false
    throw error
  }
}
