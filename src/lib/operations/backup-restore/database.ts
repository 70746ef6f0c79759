/**
 * The stack's running PostgreSQL, for backup and restore: the db container (or why there is none to use) and
 * the server's version.
 */
import {Psql} from '../db/psql.js'
import type {ContainerSummary} from '../../engine/engine.js'
import {runningService} from '../../engine/services.js'
import {StackctlError} from '../../errors.js'
import {stackCommand} from '../../model/config/command-line.js'
import type {StackContext} from '../../stack/context.js'
import {majorFromVersionNum} from '../../engine/pgdata/version.js'

/** The stack's db container when it is running; otherwise an error telling the user to start the stack. */
export async function runningDb(ctx: StackContext, action: string): Promise<ContainerSummary> {
  const db = await runningService(ctx.engine, ctx.config.project, 'db')
  if (db) return db
  throw new StackctlError(`cannot ${action}: the stack '${ctx.config.project}' is not running`, {
    exitCode: 1,
    suggestion: `start it with ${stackCommand(ctx.config, 'up')}`,
  })
}

export async function serverVersion(psql: Psql, database: string): Promise<{major: number; version: string}> {
  const [num, version] = (
    await psql.query("SELECT current_setting('server_version_num') || '|' || version()", database)
  )
    .split('|')
    .map((part) => part.trim())
  const major = majorFromVersionNum(num)
  if (major === undefined) throw new StackctlError(`cannot tell the server's version from '${num}'`)
  return {major, version}
}

export {Psql}
