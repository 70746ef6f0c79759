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

/** A command's own flags as oclif defines them: a name, maybe a one-letter alias, and whether a value follows. */
export type OwnFlags = Record<string, {char?: string; type: 'boolean' | 'option'}>

/**
 * Splits `stackctl psql`'s raw arguments into stackctl's and psql's, keeping psql's exactly as typed: oclif's
 * non-strict parsing regroups flag-like tokens (`-- -c A -c B` came out as `-c -c A B`). Everything after the
 * first `--` is psql's. Before it, stackctl's own flags (`--dir X`, `--dir=X`, `-p X`, `-pX`) are stackctl's
 * and every other argument is psql's, so `stackctl psql -c 'SQL'` works as `ddev psql` does; the value of a
 * psql option (`-c '--dir'`) is never taken for a flag.
 */
export function splitPsqlArgv(argv: readonly string[], own: OwnFlags): {own: string[]; psql: string[]} {
  const spellings = new Map<string, 'boolean' | 'option'>()
  for (const [name, flag] of Object.entries(own)) {
    spellings.set(`--${name}`, flag.type)
    if (flag.char) spellings.set(`-${flag.char}`, flag.type)
  }
  const result = {own: [] as string[], psql: [] as string[]}
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--') {
      result.psql.push(...argv.slice(i + 1))
      break
    }
    if (PSQL_VALUE_OPTIONS.has(arg)) {
      result.psql.push(...argv.slice(i, i + 2))
      i++
      continue
    }
    const type = spellings.get(arg)
    if (type === 'option') {
      result.own.push(...argv.slice(i, i + 2))
      i++
    } else if (type === 'boolean' || ownWithValue(arg, spellings)) {
      result.own.push(arg)
    } else {
      result.psql.push(arg)
    }
  }
  return result
}

/** `--name=value`, or `-xVALUE` for a one-letter flag that takes a value. */
function ownWithValue(arg: string, spellings: Map<string, 'boolean' | 'option'>): boolean {
  if (arg.startsWith('--')) return spellings.get(arg.split('=')[0]) === 'option' && arg.includes('=')
  return /^-[^-]./.test(arg) && spellings.get(arg.slice(0, 2)) === 'option'
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
