/**
 * The PostgreSQL major stored in a data volume, read without changing anything: from the host's mountpoint
 * when the engine is local and the path readable, else through a throwaway container that mounts the volume
 * read-only (any image the stack would use has grep).
 */
import {readFile, stat} from 'node:fs/promises'

import type {ImageSource} from '../../model/config/stack-config.js'
import type {Engine, VolumeInfo} from '../engine.js'
import {imageExists, localImages, registryImages} from '../images/stack-images.js'
import {parsePgVersionListing, pgVersionCandidates, type PgVersionFound} from './version.js'

/** What identifies a stack's data volume and the images that could read it. */
export interface StackVolume {
  project: string
  /** The active data volume's name. */
  volume: string
  pgMajor: number
  imageSource: ImageSource
  /** The image source the stack resolved to last time, tried first. */
  rememberedSource?: 'registry' | 'local'
}

export interface PgVersionRead {
  known: boolean
  found?: PgVersionFound
}

const MOUNT = '/stackctl-volume'

/**
 * Reads PG_VERSION in a throwaway container that mounts the volume read-only (any image the stack would use
 * has grep), or from the host's mountpoint when the engine is local and the path is readable.
 */
export async function readPgVersion(
  engine: Engine,
  stack: StackVolume,
  info: VolumeInfo,
  userImages: string[],
): Promise<PgVersionRead> {
  const {pgMajor} = stack
  for (const image of [...dbImageCandidates(stack), ...userImages]) {
    if (!(await imageExists(engine, image))) continue
    try {
      const result = await engine.containers.runOneShot({
        image,
        entrypoint: ['grep'],
        cmd: ['-s', '-H', '', ...pgVersionCandidates(MOUNT, pgMajor)],
        readOnlyVolumes: {[info.name]: MOUNT},
      })
      // grep: 0 = found, 1 = empty marker, 2 = some candidate missing; anything else means it did not run.
      if ([0, 1, 2].includes(result.exitCode) || result.stdout) {
        return {known: true, found: parsePgVersionListing(result.stdout, MOUNT)}
      }
    } catch {
      // This image cannot run the reader; try the next one, then the host path.
    }
  }
  return readPgVersionFromHost(engine.endpoint, info.mountpoint, pgMajor)
}

/** The host-side reader, used when no image can run the container reader. */
export async function readPgVersionFromHost(
  endpoint: string,
  mountpoint: string,
  pgMajor: number,
): Promise<PgVersionRead> {
  if (!endpoint.startsWith('unix://') || !mountpoint) return {known: false}
  if (!(await stat(mountpoint).catch(() => undefined))?.isDirectory()) return {known: false}
  const lines: string[] = []
  for (const file of pgVersionCandidates(mountpoint, pgMajor)) {
    try {
      lines.push(`${file}:${(await readFile(file, 'utf8')).trim()}`)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return {known: false}
    }
  }
  return {known: true, found: parsePgVersionListing(lines.join('\n'), mountpoint)}
}

/** The images the stack runs its db from, the remembered choice first. */
function dbImageCandidates(stack: StackVolume): string[] {
  const requested = stack.imageSource === 'auto' ? undefined : stack.imageSource
  const order = stack.rememberedSource ?? requested
  const sources = order === 'registry' ? [registryImages, localImages] : [localImages, registryImages]
  const images: string[] = []
  for (const imagesFor of sources) {
    try {
      images.push(imagesFor(stack.pgMajor).postgres)
    } catch {
      // No local image for this major.
    }
  }
  return images
}

/**
 * The PostgreSQL layout stored in the stack's volume, or undefined when there is no volume or it cannot be
 * read. Tries the host path first (no container needed when the engine is local and the path readable).
 */
export async function storedPgVersion(engine: Engine, stack: StackVolume): Promise<PgVersionRead | undefined> {
  const info = await engine.volumes.inspect(stack.volume)
  if (!info) return undefined
  const fromHost = await readPgVersionFromHost(engine.endpoint, info.mountpoint, stack.pgMajor)
  return fromHost.known ? fromHost : readPgVersion(engine, stack, info, [])
}
