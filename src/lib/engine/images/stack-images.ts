/**
 * The images a stack runs: the official registry images, or the ones `stackctl images build` makes from Debian
 * packages. Which to use is decided by the stack (stack/images.ts); what they are is said here.
 */
import type {Engine} from '../engine.js'
import {UsageError} from '../../errors.js'
import {LOCAL_PG_MAJORS} from './image-specs.js'

export interface StackImages {
  source: 'registry' | 'local'
  postgres: string
  node: string
}

/** The Node LTS line the registry mode uses; the local image is Debian 13's Node.js 20. */
export const REGISTRY_NODE_IMAGE = 'node:24-slim'
export {LOCAL_PG_MAJORS}

export function registryImages(pgMajor: number): StackImages {
  return {source: 'registry', postgres: `postgres:${pgMajor}`, node: REGISTRY_NODE_IMAGE}
}

export function localImages(pgMajor: number): StackImages {
  if (!LOCAL_PG_MAJORS.includes(pgMajor)) {
    throw new UsageError(
      `local images exist only for PostgreSQL ${LOCAL_PG_MAJORS.join(', ')}, not ${pgMajor}`,
      `use --pg-major ${LOCAL_PG_MAJORS.join(' or ')}, or --image-source registry`,
    )
  }
  return {source: 'local', postgres: `stackctl/postgres:${pgMajor}`, node: 'stackctl/node:20'}
}

export async function imageExists(engine: Engine, reference: string): Promise<boolean> {
  return (await engine.images.inspect(reference)) !== undefined
}
