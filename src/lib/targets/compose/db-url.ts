/**
 * `stackctl db url`: the running database's URL for tools on the host. It exists only when `up --db-port`
 * published the port; the password is in it only when asked for, read from the stack's own secret file
 * (never through a link).
 */
import {DB_NAME, DB_USER} from '../../model/config/stack-config.js'
import {stackCommand} from '../../model/config/command-line.js'
import {databaseUrl, publishedDbAddress} from '../../operations/db/url.js'
import {readSecretFile} from '../../operations/doctor/secret-file.js'
import {runningService} from '../../engine/services.js'
import {StackctlError} from '../../errors.js'
import type {StackContext} from '../../stack/context.js'
import {claimStack} from '../../stack/ownership.js'

export interface DbUrlResult {
  /** postgres://postgres[:PASSWORD]@HOST:PORT/visits; the password only with --show-password. */
  url: string
  host: string
  port: number
  user: string
  database: string
  passwordShown: boolean
}

/** The port --db-port suggests in a hint: PostgreSQL's own. */
const SUGGESTED_DB_PORT = 5432

export async function stackDbUrl(ctx: StackContext, options: {showPassword?: boolean} = {}): Promise<DbUrlResult> {
  await ctx.engine.ping()
  await claimStack(ctx)
  const db = await runningService(ctx.engine, ctx.config.project, 'db')
  if (!db) {
    throw new StackctlError(`the stack '${ctx.config.project}' is not running, so its database has no URL`, {
      exitCode: 1,
      suggestion: `start it with ${stackCommand(ctx.config, ctx.config.dbPort === undefined ? `up --db-port ${SUGGESTED_DB_PORT}` : 'up')}`,
    })
  }
  const address = publishedDbAddress(db.ports)
  if (!address) {
    throw new StackctlError(
      `the database of stack '${ctx.config.project}' is not published on a host port, so tools on this machine cannot reach it`,
      {
        exitCode: 1,
        suggestion: `publish it on 127.0.0.1 with ${stackCommand(ctx.config, `up --db-port ${SUGGESTED_DB_PORT}`)} (or run ${stackCommand(ctx.config, 'psql')} inside the stack)`,
      },
    )
  }
  const password = options.showPassword ? await stackPassword(ctx) : undefined
  return {
    url: databaseUrl(address, password),
    ...address,
    user: DB_USER,
    database: DB_NAME,
    passwordShown: password !== undefined,
  }
}

async function stackPassword(ctx: StackContext): Promise<string> {
  const {content, problem} = await readSecretFile(ctx.paths)
  if (problem) throw new StackctlError(problem.detail, {exitCode: 1, suggestion: problem.fix})
  if (content === undefined || content === '') {
    throw new StackctlError(`the password file ${ctx.paths.passwordFile} is missing or empty`, {
      exitCode: 1,
      suggestion: `restore secrets/db_password into the stack directory from your copy of it; ${stackCommand(ctx.config, 'db url')} without --show-password still works`,
    })
  }
  // PostgreSQL's entrypoint reads the file as a shell's $(< file) does: without its trailing newlines.
  return content.replace(/[\r\n]+$/, '')
}
