/**
 * psql inside the db container, over its local socket (the database port is never published): the one way
 * stackctl asks the stack's PostgreSQL anything. The argument builder is pure.
 */
import {DB_NAME, DB_USER} from '../config/stack-config.js'
import type {Engine} from '../engine/engine.js'
import {StackctlError} from '../errors.js'

/** Unaligned, tuples only, no psqlrc, stop at the first error; one statement outside a transaction block. */
export function psqlArgs(database: string, sql: string): string[] {
  return ['psql', '-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', '-U', DB_USER, '-d', database, '-c', sql]
}

/**
 * `docker exec` arguments for an interactive psql as the stack's user over the local socket: no password on
 * any command line. A terminal is passed through when there is one; without it, -c and -f still work.
 */
export function interactivePsqlArgs(containerId: string, extra: readonly string[], tty: boolean): string[] {
  return ['exec', '-i', ...(tty ? ['-t'] : []), containerId, 'psql', '-U', DB_USER, '-d', DB_NAME, ...extra]
}

export class Psql {
  constructor(
    private readonly engine: Engine,
    readonly containerId: string,
  ) {}

  /** The statement's output, trimmed; a failure is a StackctlError with psql's message. */
  async query(sql: string, database: string = DB_NAME): Promise<string> {
    const result = await this.engine.containers.exec(this.containerId, psqlArgs(database, sql))
    if (result.exitCode !== 0) {
      throw new StackctlError(
        `psql in the db container failed (exit ${result.exitCode}): ${result.stderr.trim() || result.stdout.trim()}`,
      )
    }
    if (result.truncated) throw new StackctlError('psql in the db container printed more than stackctl reads')
    return result.stdout.trim()
  }

  /** Like query, but undefined instead of an error (for answers that are optional, e.g. a count in a prompt). */
  async tryQuery(sql: string, database: string = DB_NAME): Promise<string | undefined> {
    return this.query(sql, database).catch(() => undefined)
  }
}
