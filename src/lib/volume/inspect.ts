/**
 * `stackctl volume inspect`: what the engine knows about the stack's data volume (driver, labels, size, who
 * uses it) and which PostgreSQL major initialised it, read without changing anything.
 */
import {readFile, stat} from 'node:fs/promises'

import {volumeName} from '../config/stack-config.js'
import type {VolumeInfo} from '../engine/engine.js'
import {StackctlError} from '../errors.js'
import type {StackContext} from '../stack/context.js'
import {imageExists, localImages, registryImages} from '../stack/images.js'
import {isCompatible, parsePgVersionListing, pgVersionCandidates, type PgVersionFound} from './format.js'

export interface VolumeUser {
  name: string
  state: string
}

export interface VolumeInspection {
  name: string
  driver: string
  mountpoint: string
  scope: string
  createdAt: string | null
  labels: Record<string, string>
  options: Record<string, string>
  /** Bytes used, from the engine's disk-usage report; -1 when the engine does not know. */
  sizeBytes: number
  usedBy: VolumeUser[]
  /** Whether the stack's own db container is among the users. */
  usedByDb: boolean
  /** The major version in PG_VERSION; null for an empty volume or when it could not be read. */
  pgVersion: number | null
  configuredPgVersion: number
  /** null when the version could not be read. */
  compatible: boolean | null
}

export async function inspectVolume(ctx: StackContext): Promise<VolumeInspection> {
  await ctx.engine.ping()
  const {project, pgMajor} = ctx.config
  const name = volumeName(project)
  const info = await ctx.engine.volumes.inspect(name)
  if (!info) throw new StackctlError('the stack has no data volume yet; run stackctl up', {exitCode: 1})
  const users = await ctx.engine.containers.list({volume: name})
  const pg = await readPgVersion(ctx, info, [...new Set(users.map((u) => u.image))])
  return {
    name,
    driver: info.driver,
    mountpoint: info.mountpoint,
    scope: info.scope,
    createdAt: info.createdAt,
    labels: info.labels,
    options: info.options,
    sizeBytes: await ctx.engine.volumes.sizeBytes(name),
    usedBy: users.map((u) => ({name: u.name, state: u.state})).sort((a, b) => a.name.localeCompare(b.name)),
    usedByDb: users.some((u) => u.project === project && u.service === 'db'),
    pgVersion: pg.known ? (pg.found?.major ?? null) : null,
    configuredPgVersion: pgMajor,
    compatible: pg.known ? isCompatible(pg.found, pgMajor) : null,
  }
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
async function readPgVersion(ctx: StackContext, info: VolumeInfo, userImages: string[]): Promise<PgVersionRead> {
  const {pgMajor} = ctx.config
  for (const image of [...dbImageCandidates(ctx), ...userImages]) {
    if (!(await imageExists(ctx.engine, image))) continue
    try {
      const result = await ctx.engine.containers.runOneShot({
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
  return readPgVersionFromHost(ctx.engine.endpoint, info.mountpoint, pgMajor)
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
function dbImageCandidates(ctx: StackContext): string[] {
  const remembered = ctx.state?.settings.resolvedImageSource
  const requested = ctx.config.imageSource === 'auto' ? undefined : ctx.config.imageSource
  const order = remembered ?? requested
  const sources = order === 'registry' ? [registryImages, localImages] : [localImages, registryImages]
  const images: string[] = []
  for (const imagesFor of sources) {
    try {
      images.push(imagesFor(ctx.config.pgMajor).postgres)
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
export async function storedPgVersion(ctx: StackContext): Promise<PgVersionRead | undefined> {
  const info = await ctx.engine.volumes.inspect(volumeName(ctx.config.project))
  if (!info) return undefined
  const fromHost = await readPgVersionFromHost(ctx.engine.endpoint, info.mountpoint, ctx.config.pgMajor)
  return fromHost.known ? fromHost : readPgVersion(ctx, info, [])
}
