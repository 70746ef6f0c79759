/**
 * psql inside the db container, over its local socket (the database port is published only by up --db-port,
 * for host tools): the one way stackctl asks the stack's PostgreSQL anything. The argument builder is pure.
 */
import {DB_NAME, DB_USER} from '../../model/config/stack-config.js'
import type {Engine} from '../../engine/engine.js'
import {StackctlError} from '../../errors.js'
import {splitPassthroughArgv, type OwnFlags} from '../../cli/passthrough-argv.js'

/** Unaligned, tuples only, no psqlrc, stop at the first error; one statement outside a transaction block. */
export function psqlArgs(database: string, sql: string): string[] {
  return ['psql', '-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', '-U', DB_USER, '-d', database, '-c', sql]
}

/**
 * The command `stackctl psql` runs in the db container (through `docker exec`, targets/compose/exec.ts): psql as the
 * stack's user over the local socket, so no password is on any command line.
 */
export function interactivePsqlCommand(extra: readonly string[]): string[] {
  return ['psql', '-U', DB_USER, '-d', DB_NAME, ...extra]
}

/** psql's options that take a value in the next argument (`-c SQL`): that argument is psql's, whatever it looks like. */
const PSQL_VALUE_OPTIONS = new Set(['-c', '--command', '-d', '--dbname', '-f', '--file', '-v', '--set', '--variable'])
for (const option of ['-F', '-L', '-o', '-P', '-R', '-T', '-U', '-h']) PSQL_VALUE_OPTIONS.add(option)
for (const option of [
  'field-separator',
  'log-file',
  'output',
  'pset',
  'record-separator',
  'table-attr',
  'username',
  'host',
]) {
  PSQL_VALUE_OPTIONS.add(`--${option}`)
}

/**
 * Splits `stackctl psql`'s raw arguments into stackctl's and psql's (passthrough-argv.ts): everything after
 * `--` and every argument that is not --dir or --project-name/-p is psql's, so `stackctl psql -c 'SQL'` works
 * as `ddev psql` does; the value of a psql option (`-c '--dir'`) is never taken for a flag.
 */
export function splitPsqlArgv(argv: readonly string[], own: OwnFlags): {own: string[]; psql: string[]} {
  const split = splitPassthroughArgv(argv, own, {valueOptions: PSQL_VALUE_OPTIONS})
  return {own: split.own, psql: split.rest}
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
