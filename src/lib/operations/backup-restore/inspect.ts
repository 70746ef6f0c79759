/**
 * `stackctl volume inspect`: what the engine knows about the stack's data volume (driver, labels, size, who
 * uses it) and which PostgreSQL major initialised it, read without changing anything.
 */
import type {VolumeInfo} from '../../engine/engine.js'
import {StackctlError} from '../../errors.js'
import {readPgVersion} from '../../engine/pgdata/stored.js'
import {isCompatible} from '../../engine/pgdata/version.js'
import {stackVolume, type StackContext} from '../../stack/context.js'
import {supersededVolumes} from '../../stack/status.js'
import type {SupersededReport} from '../../model/stackdir/stack-files.js'
import {stackCommand} from '../../model/config/command-line.js'

export interface VolumeUser {
  name: string
  state: string
}

/** What the engine knows of the volume, and what stackctl adds: size, users, the PostgreSQL major in it. */
export interface VolumeInspection extends VolumeInfo {
  /** Bytes used, from the engine's disk-usage report; -1 when the engine does not know. */
  sizeBytes: number
  usedBy: VolumeUser[]
  /** Whether the stack's own db container is among the users. */
  usedByDb: boolean
  /** The major version in PG_VERSION; null for an empty volume or when it could not be read. */
  pgVersion: number | null
  configuredPgVersion: number
  /** Volumes the stack ran on before db upgrade (or db rollback) switched it to this one. */
  superseded: SupersededReport[]
  /** null when the version could not be read. */
  compatible: boolean | null
}

export async function inspectVolume(ctx: StackContext): Promise<VolumeInspection> {
  await ctx.engine.ping()
  const {project, pgMajor} = ctx.config
  const name = ctx.config.volume
  const info = await ctx.engine.volumes.inspect(name)
  if (!info)
    throw new StackctlError(`the stack has no data volume yet; run ${stackCommand(ctx.config, 'up')}`, {exitCode: 1})
  const users = await ctx.engine.containers.list({volume: name})
  const pg = await readPgVersion(ctx.engine, stackVolume(ctx), info, [...new Set(users.map((u) => u.image))])
  return {
    ...info,
    sizeBytes: await ctx.engine.volumes.sizeBytes(name),
    usedBy: users.map((u) => ({name: u.name, state: u.state})).sort((a, b) => a.name.localeCompare(b.name)),
    usedByDb: users.some((u) => u.project === project && u.service === 'db'),
    pgVersion: pg.known ? (pg.found?.major ?? null) : null,
    configuredPgVersion: pgMajor,
    compatible: pg.known ? isCompatible(pg.found, pgMajor) : null,
    superseded: await supersededVolumes(ctx),
  }
}
