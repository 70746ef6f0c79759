import type {Engine} from '../../engine/engine.js'
import {pullImage} from '../../engine/images/pull.js'
import type {ImageResolver} from '../../stack/images.js'

/** The real resolver: `docker pull` and the local image builder. */
export function imageResolver(engine: Engine, buildLocal: (pgMajor: number) => Promise<void>): ImageResolver {
  return {engine, pull: pullImage, buildLocal}
}

/** For rendering without side effects: never pulls, never builds. */
export function offlineResolver(engine: Engine): ImageResolver {
  return {engine, pull: async () => false, buildLocal: async () => {}}
}
