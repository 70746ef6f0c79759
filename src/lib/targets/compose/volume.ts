import type {Engine} from '../../engine/engine.js'
import {storedPgVersion, type StackVolume} from '../../engine/pgdata/stored.js'

export async function volumeExists(engine: Engine, volume: string): Promise<boolean> {
  return (await engine.volumes.inspect(volume)) !== undefined
}

/**
 * Whether the volume holds a database cluster (or may: one that cannot be read counts as holding one). An
 * empty volume (`docker volume create`) is initialised by the first start, with the password file of then.
 */
export async function volumeHoldsCluster(engine: Engine, stack: StackVolume): Promise<boolean> {
  const stored = await storedPgVersion(engine, stack)
  return stored !== undefined && (!stored.known || stored.found !== undefined)
}
