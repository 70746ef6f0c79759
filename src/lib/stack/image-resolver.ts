import type {Engine} from '../engine/engine.js'
import {run} from '../process/run.js'
import type {ImageResolver} from './images.js'

/** `docker pull --quiet REFERENCE`: quiet, so a pull is one line of output, not a progress stream. */
export function pullArgs(reference: string): string[] {
  return ['pull', '--quiet', reference]
}

/** The real resolver: `docker pull` (bounded) and the local image builder. */
export function imageResolver(engine: Engine, buildLocal: () => Promise<void>): ImageResolver {
  return {
    engine,
    pull: async (reference) =>
      (await run('docker', pullArgs(reference), {reject: false, timeoutMs: 120_000})).exitCode === 0,
    buildLocal,
  }
}

/** For rendering without side effects: never pulls, never builds. */
export function offlineResolver(engine: Engine): ImageResolver {
  return {engine, pull: async () => false, buildLocal: async () => {}}
}
