import {volumeName} from '../config/stack-config.js'
import type {Engine} from '../engine/engine.js'

export async function volumeExists(engine: Engine, project: string): Promise<boolean> {
  return (await engine.volumes.inspect(volumeName(project))) !== undefined
}
