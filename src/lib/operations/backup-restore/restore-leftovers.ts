/**
 * What a `volume restore` that was killed can leave in the live cluster, found and repaired outside any
 * restore: `visits` closed to new sessions (the API then cannot reconnect, and `up` waits in vain), the
 * unfinished copy `visits_restore_*`, the replaced data `visits_old_*`. `status` and `doctor` report them;
 * `up` repairs them, saying what it did. Replaced data is never dropped here: it may be all that is left of
 * what the user had.
 */
import {DB_NAME} from '../../model/config/stack-config.js'
import {runningService} from '../../engine/services.js'
import {shellQuote} from '../../model/config/command-line.js'
import type {StackContext} from '../../stack/context.js'
import {Psql} from './database.js'
import {isStepDatabaseName, SWAP_APPLICATION} from './format.js'

export interface RestoreLeftovers {
  /** `visits` refuses new sessions (pg_database.datallowconn is false). */
  closed: boolean
  /** Unfinished restored copies (`visits_restore_*`): nothing in them that is not in the backup file. */
  copies: string[]
  /** Replaced data a restore kept (`visits_old_*`). */
  replaced: string[]
  /** pg_restore or a swap is running now: what looks left over may be that restore's, so nothing is touched. */
  underWay: boolean
}

/** Every database with whether it accepts sessions, then how many sessions a restore runs. */
const LEFTOVERS_SQL = `SELECT datname || '|' || datallowconn FROM pg_database
UNION ALL SELECT '|active|' || count(*) FROM pg_stat_activity WHERE application_name IN ('pg_restore', '${SWAP_APPLICATION}')`

/** Pure: the leftovers from LEFTOVERS_SQL's output. */
export function parseLeftovers(output: string): RestoreLeftovers {
  const found: RestoreLeftovers = {closed: false, copies: [], replaced: [], underWay: false}
  for (const line of output.split('\n').map((l) => l.trim())) {
    const active = /^\|active\|(\d+)$/.exec(line)
    if (active) {
      found.underWay = Number(active[1]) > 0
      continue
    }
    const [name, allow] = line.split('|')
    if (name === DB_NAME && allow === 'false') found.closed = true
    else if (isStepDatabaseName(DB_NAME, name)) (name.includes('_restore_') ? found.copies : found.replaced).push(name)
  }
  return found
}

export function hasLeftovers(found: RestoreLeftovers): boolean {
  return found.closed || found.copies.length > 0 || found.replaced.length > 0
}

/** The stack's running db and what a killed restore left in it; undefined when the db is not running. */
export async function findRestoreLeftovers(
  ctx: StackContext,
): Promise<{psql: Psql; found: RestoreLeftovers} | undefined> {
  const db = await runningService(ctx.engine, ctx.config.project, 'db')
  if (!db) return undefined
  const psql = new Psql(ctx.engine, db.id)
  const output = await psql.tryQuery(LEFTOVERS_SQL, 'postgres')
  return output === undefined ? undefined : {psql, found: parseLeftovers(output)}
}

export interface LeftoverFinding {
  what: string
  /** A command that works as printed. */
  fix: string
  /** fail: the stack cannot serve as it should until fixed; warn: only space is held. */
  severity: 'fail' | 'warn'
}

/** Pure: what a killed restore left, each with the command that deals with it. */
export function leftoverFindings(
  found: RestoreLeftovers,
  ctx: Pick<StackContext, 'paths' | 'config'>,
): LeftoverFinding[] {
  if (!hasLeftovers(found)) return []
  const where = `--dir ${shellQuote(ctx.paths.dir)} --project-name ${ctx.config.project}`
  if (found.underWay) {
    const names = [...(found.closed ? [DB_NAME] : []), ...found.copies, ...found.replaced]
    return [
      {
        what: `a volume restore is running (databases ${names.join(', ')})`,
        fix: `stackctl status ${where} when it is done`,
        severity: 'warn',
      },
    ]
  }
  const up = `stackctl up ${where}`
  return [
    ...(found.closed
      ? [
          {
            what: `database '${DB_NAME}' refuses new connections, left so by a volume restore that was killed (up opens it again; no data is lost)`,
            fix: up,
            severity: 'fail' as const,
          },
        ]
      : []),
    ...found.copies.map((name) => ({
      what: `database ${name} is the unfinished copy of a volume restore that was killed (up drops it)`,
      fix: up,
      severity: 'fail' as const,
    })),
    ...found.replaced.map((name) => ({
      what: `database ${name} holds data a volume restore replaced, kept; drop it when you no longer need it`,
      fix: `stackctl psql ${where} -- -c 'DROP DATABASE ${name}'`,
      severity: 'warn' as const,
    })),
  ]
}

/** status: one line per leftover of a killed restore in the running db (none when the db is not running). */
/**
 * What a repair saw: `clean` when the running db answered and a killed restore had left nothing. A command that
 * repaired under the stack's lock can pass it on to its status at the end, which then need not ask again.
 */
export type LeftoverCheck = 'clean' | 'unknown'

export async function restoreLeftoverProblems(ctx: StackContext): Promise<string[]> {
  const leftovers = await findRestoreLeftovers(ctx)
  if (!leftovers) return []
  return leftoverFindings(leftovers.found, ctx).map((f) => `${f.what}: ${f.fix}`)
}

/** doctor: fails on a closed `visits` or an unfinished copy, warns about replaced data kept. */
export async function checkRestoreLeftovers(
  ctx: StackContext,
): Promise<{name: string; status: 'ok' | 'warn' | 'fail'; detail: string; fix?: string}> {
  const leftovers = await findRestoreLeftovers(ctx)
  if (!leftovers) return {name: 'restore', status: 'ok', detail: 'not checked: the db is not running'}
  const findings = leftoverFindings(leftovers.found, ctx)
  if (findings.length === 0) return {name: 'restore', status: 'ok', detail: 'nothing left by a killed volume restore'}
  return {
    name: 'restore',
    status: findings.some((f) => f.severity === 'fail') ? 'fail' : 'warn',
    detail: findings.map((f) => f.what).join('; '),
    fix: [...new Set(findings.map((f) => f.fix))].join(', then '),
  }
}

/**
 * `up`: opens `visits` again and drops unfinished copies; replaced data is opened (so it can be read) and
 * kept. Says what it did through ctx.progress. Nothing is touched while a restore is running. `looked`: what
 * findRestoreLeftovers said a moment ago under this command's lock, when nothing has changed the db since.
 */
export async function repairRestoreLeftovers(
  ctx: StackContext,
  looked?: Awaited<ReturnType<typeof findRestoreLeftovers>>,
): Promise<{done: string[]; check: LeftoverCheck}> {
  const leftovers = looked ?? (await findRestoreLeftovers(ctx))
  if (leftovers && !hasLeftovers(leftovers.found)) return {done: [], check: 'clean'}
  if (!leftovers || leftovers.found.underWay) return {done: [], check: 'unknown'}
  const {psql, found} = leftovers
  const done: string[] = []
  if (found.closed) {
    await psql.query(`ALTER DATABASE ${DB_NAME} ALLOW_CONNECTIONS true`, 'postgres')
    done.push(`database '${DB_NAME}' refused new connections (a volume restore was killed): opened it again`)
  }
  for (const name of found.copies) {
    await psql.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`, 'postgres')
    done.push(`dropped database ${name}, the unfinished copy of a volume restore that was killed`)
  }
  for (const name of found.replaced) {
    await psql.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`, 'postgres')
    done.push(`kept database ${name}: data a volume restore replaced (drop it yourself when you no longer need it)`)
  }
  for (const line of done) ctx.progress(line)
  return {done, check: 'unknown'}
}
