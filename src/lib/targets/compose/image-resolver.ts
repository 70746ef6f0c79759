import type {DockerCli} from '../../engine/docker-cli.js'
import type {Engine} from '../../engine/engine.js'
import {pullImage} from '../../engine/images/pull.js'
import type {ImageResolver} from '../../stack/images.js'

/** The real resolver: `docker pull` and the local image builder, against the stack's engine. */
export function imageResolver(
  stack: {engine: Engine; docker: DockerCli},
  buildLocal: (pgMajor: number) => Promise<void>,
): ImageResolver {
  return {engine: stack.engine, pull: (reference) => pullImage(stack.docker, reference), buildLocal}
}

/** For rendering without side effects: never pulls, never builds. */
export function offlineResolver(engine: Engine): ImageResolver {
  return {engine, pull: async () => false, buildLocal: async () => {}}
}
