import type Docker from 'dockerode'

import {run} from '../process/run.js'
import type {ImageResolver} from './images.js'

/** The real resolver: `docker pull` (quiet, bounded) and the local image builder. */
export function imageResolver(docker: Docker, buildLocal: () => Promise<void>): ImageResolver {
  return {
    docker,
    pull: async (reference) =>
      (await run('docker', ['pull', '--quiet', reference], {reject: false, timeoutMs: 120_000})).exitCode === 0,
    buildLocal,
  }
}

/** For rendering without side effects: never pulls, never builds. */
export function offlineResolver(docker: Docker): ImageResolver {
  return {docker, pull: async () => false, buildLocal: async () => {}}
}
