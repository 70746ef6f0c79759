/**
 * Which images the stack runs: the official registry images, or the ones `stackctl images build` makes from
 * Debian packages. `auto` prefers the registry when its images are present or pullable and otherwise falls
 * back to local images (building them when missing). Once resolved, the choice is remembered in the stack
 * directory so a running stack never flips images (and recreates containers) because a registry came or went.
 */
import type {ImageSource} from '../model/config/stack-config.js'
import type {Engine} from '../engine/engine.js'
import {EnvironmentError} from '../errors.js'
import {imageExists, localImages, registryImages, type StackImages} from '../engine/images/stack-images.js'

export interface ImageResolution {
  images: StackImages
  /** One line for the user saying which images and why. */
  reason: string
}

export interface ImageResolver {
  engine: Engine
  /** Tries to pull an image; resolves false when the registry cannot be reached. */
  pull: (reference: string) => Promise<boolean>
  /** Builds the local base images for this PostgreSQL major (stackctl images build), showing progress. */
  buildLocal: (pgMajor: number) => Promise<void>
}

export async function resolveImages(
  requested: ImageSource,
  pgMajor: number,
  remembered: 'registry' | 'local' | undefined,
  resolver: ImageResolver,
): Promise<ImageResolution> {
  const registry = registryImages(pgMajor)
  if (requested === 'registry') {
    await ensurePresent(registry, resolver)
    return {images: registry, reason: `images: registry (${registry.postgres}, ${registry.node})`}
  }
  if (requested === 'local') return useLocal(pgMajor, resolver, 'requested')

  if (remembered === 'local' && (await allPresent(localImages(pgMajor), resolver))) {
    return useLocal(pgMajor, resolver, 'as on the last run', true)
  }
  if (await allPresent(registry, resolver)) {
    return {images: registry, reason: `images: registry (${registry.postgres}, ${registry.node}), present`}
  }
  if (await pullAll(registry, resolver)) {
    return {images: registry, reason: `images: registry (${registry.postgres}, ${registry.node}), pulled`}
  }
  return useLocal(pgMajor, resolver, 'registry unreachable')
}

function describeLocal(images: StackImages, why: string): string {
  return `images: local (${images.postgres}, ${images.node}), ${why}`
}

/** `present`: the caller has just found both images (not asked again). */
async function useLocal(
  pgMajor: number,
  resolver: ImageResolver,
  why: string,
  present?: boolean,
): Promise<ImageResolution> {
  const images = localImages(pgMajor)
  const missing = !(present ?? (await allPresent(images, resolver)))
  // Builds what is missing, and rebuilds an image whose template changed since (seconds, on its rootfs); a
  // current image costs a look-up.
  await resolver.buildLocal(pgMajor)
  return {images, reason: describeLocal(images, missing ? `${why}; built from Debian packages` : why)}
}

async function allPresent(images: StackImages, resolver: ImageResolver): Promise<boolean> {
  for (const reference of [images.postgres, images.node]) {
    if (!(await imageExists(resolver.engine, reference))) return false
  }
  return true
}

async function pullAll(images: StackImages, resolver: ImageResolver): Promise<boolean> {
  for (const reference of [images.postgres, images.node]) {
    if (!(await imageExists(resolver.engine, reference)) && !(await resolver.pull(reference))) return false
  }
  return true
}

async function ensurePresent(images: StackImages, resolver: ImageResolver): Promise<void> {
  if (!(await pullAll(images, resolver))) {
    throw new EnvironmentError(
      `cannot pull ${images.postgres} / ${images.node}: the registry is unreachable`,
      'use --image-source local (images built from Debian packages) or --image-source auto',
    )
  }
}
