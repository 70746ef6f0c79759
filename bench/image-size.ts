/** How much the API image adds to its base: the engine's sizes of the stack's app image and of the base. */
import type {Engine} from '../src/lib/engine/engine.js'
import type {ImageResult} from './results.js'

export async function measureImage(engine: Engine, appImage: string, baseImage: string): Promise<ImageResult> {
  const app = await engine.images.inspect(appImage)
  const base = await engine.images.inspect(baseImage)
  if (!app || !base) throw new Error(`image ${app ? baseImage : appImage} is missing`)
  return {
    appImage,
    appBytes: app.sizeBytes,
    baseImage,
    baseBytes: base.sizeBytes,
    addedBytes: app.sizeBytes - base.sizeBytes,
  }
}
