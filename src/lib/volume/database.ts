/**
 * Talking to the stack's running PostgreSQL from inside its container (psql over the local socket), for
 * backup and restore.
 */
import {DB_USER} from '../config/stack-config.js'
import {projectContainers, type ServiceContainer} from '../engine/containers.js'
import {StackctlError} from '../errors.js'
import type {StackContext} from '../stack/context.js'
import {execStream} from './container-io.js'
import {majorFromVersionNum} from './format.js'

/** The stack's db container when it is running; otherwise an error telling the user to start the stack. */
export async function runningDb(ctx: StackContext, action: string): Promise<ServiceContainer> {
  const db = (await projectContainers(ctx.docker, ctx.config.project)).find((c) => c.service === 'db')
  if (db?.state === 'running') return db
  throw new StackctlError(`cannot ${action}: the stack '${ctx.config.project}' is not running`, {
    exitCode: 1,
    suggestion: `start it with stackctl up${ctx.config.project === 'stackctl' ? '' : ` --project-name ${ctx.config.project}`}`,
  })
}

export class Psql {
  constructor(
    private readonly ctx: StackContext,
    private readonly containerId: string,
  ) {}

  /** Runs one statement (outside any transaction block) and returns its unaligned, tuples-only output. */
  async query(database: string, sql: string): Promise<string> {
    const result = await execStream(this.ctx.docker, this.containerId, [
      'psql',
      '-X',
      '-q',
      '-t',
      '-A',
      '-v',
      'ON_ERROR_STOP=1',
      '-U',
      DB_USER,
      '-d',
      database,
      '-c',
      sql,
    ])
    if (result.exitCode !== 0) {
      throw new StackctlError(`psql failed (exit ${result.exitCode}): ${result.stderr.trim() || result.stdout.trim()}`)
    }
    return result.stdout.trim()
  }

  async server(database: string): Promise<{major: number; version: string}> {
    const [num, version] = (
      await this.query(database, "SELECT current_setting('server_version_num') || '|' || version()")
    )
      .split('|')
      .map((part) => part.trim())
    const major = majorFromVersionNum(num)
    if (major === undefined) throw new StackctlError(`cannot tell the server's version from '${num}'`)
    return {major, version}
  }
}
