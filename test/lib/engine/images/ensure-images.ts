/**
 * Integration tests need the base images: build the missing ones with the library itself (about a minute,
 * root and debootstrap required) or fail the `before` hook with the builder's one-line reason.
 */
import {buildImages} from '../../../../src/lib/engine/images/builder.js'
import {engine, engines} from '../../../helpers/docker.js'
import type {ImageName} from '../../../../src/lib/engine/images/image-specs.js'

export const BUILD_TIMEOUT_MS = 15 * 60_000

export async function ensureImage(only: ImageName): Promise<void> {
  await buildImages({
    engine,
    docker: engines.cli(),
    only,
    progress: (line) => process.stderr.write(`      [images build] ${line}\n`),
  })
}
