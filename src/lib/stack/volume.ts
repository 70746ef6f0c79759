import type {Engine} from '../engine/engine.js'

export async function volumeExists(engine: Engine, volume: string): Promise<boolean> {
  return (await engine.volumes.inspect(volume)) !== undefined
}
