/** How much the API image adds to its base: the engine's sizes of the stack's app image and of the base. */
import type Docker from 'dockerode'

import type {ImageResult} from './results.js'

export async function measureImage(docker: Docker, appImageId: string, baseImage: string): Promise<ImageResult> {
  const app = await docker.getImage(appImageId).inspect()
  const base = await docker.getImage(baseImage).inspect()
  return {
    appImage: app.RepoTags?.[0] ?? appImageId,
    appBytes: app.Size,
    baseImage,
    baseBytes: base.Size,
    addedBytes: app.Size - base.Size,
  }
}
