/**
 * Refuses to start a server on data from another PostgreSQL major version: the server would fail to start,
 * and an upgrade needs a dump and restore, never an in-place start.
 */
import {StackctlError} from '../../errors.js'
import {storedPgVersion} from '../../engine/pgdata/stored.js'
import {isCompatible} from '../../engine/pgdata/version.js'
import {stackVolume, type StackContext} from '../../stack/context.js'
import {commandsFor} from '../../model/config/command-line.js'

export async function assertVolumeMatchesPgMajor(ctx: StackContext): Promise<void> {
  const stored = await storedPgVersion(ctx.engine, stackVolume(ctx))
  if (!stored?.known || isCompatible(stored.found, ctx.config.pgMajor)) return
  const found = stored.found!
  const volume = ctx.config.volume
  const command = commandsFor(ctx.config)
  throw new StackctlError(
    `volume ${volume} holds PostgreSQL ${found.major} data${found.dataDir ? ` (in ${found.dataDir}/)` : ''}, but the stack is configured for PostgreSQL ${ctx.config.pgMajor}`,
    {
      exitCode: 2,
      suggestion:
        found.major < ctx.config.pgMajor
          ? `start it with ${command('up')} --pg-major ${found.major}, then upgrade it: ${command('db upgrade')} --to ${ctx.config.pgMajor}`
          : `start it with ${command('up')} --pg-major ${found.major}, take a ${command('volume backup')}, then restore it into a PostgreSQL ${ctx.config.pgMajor} stack with stackctl volume restore`,
    },
  )
}
