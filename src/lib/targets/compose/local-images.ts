import type {DockerCli} from '../../engine/docker-cli.js'
import type {Engine} from '../../engine/engine.js'
import {imageExists, localImages} from '../../engine/images/stack-images.js'
import {buildImages} from '../../engine/images/builder.js'

/**
 * What `up` runs when it uses local images: `stackctl images build`, with its progress. It builds what is
 * missing (about a minute) and refreshes an image whose template changed; current images cost a look-up.
 */
export async function buildLocalImages(
  stack: {engine: Engine; docker: DockerCli},
  progress: (line: string) => void,
  pgMajor?: number,
): Promise<void> {
  const {engine, docker} = stack
  await buildImages({engine, docker, progress, pgMajors: pgMajor === undefined ? undefined : [pgMajor]})
}

/**
 * For the swarm target: build the local base images only when one is missing. A present image is used as it
 * is, so a deploy never rebuilds (retags) base images that other stacks on this engine are using.
 */
export async function buildMissingLocalImages(
  stack: {engine: Engine; docker: DockerCli},
  pgMajor: number,
  progress: (line: string) => void,
): Promise<void> {
  const images = localImages(pgMajor)
  for (const reference of [images.postgres, images.node]) {
    if (!(await imageExists(stack.engine, reference))) return buildLocalImages(stack, progress)
  }
}
