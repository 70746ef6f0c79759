/**
 * Is the stack's password file the password the database accepts? PostgreSQL reads POSTGRES_PASSWORD_FILE
 * only when it initialises the volume, so the answer lives in the volume, not in stack.json: the role's
 * SCRAM verifier in pg_authid. stackctl reads the verifier over the db container's local socket and checks
 * the file against it here — the password itself is never sent anywhere or printed.
 */
import {createHash, createHmac, pbkdf2Sync, timingSafeEqual} from 'node:crypto'

import {DB_USER} from '../model/config/stack-config.js'
import {psqlArgs} from '../operations/db/psql.js'
import {runningService} from '../engine/services.js'
import type {StackContext} from './context.js'

export type PasswordCheck = 'match' | 'mismatch' | 'unknown'

/** The file's content as the entrypoints read it (`$(<file)` drops trailing newlines). */
export function passwordFromFile(content: string): string {
  return content.replace(/\n+$/, '')
}

/**
 * Checks a password against a pg_authid.rolpassword value: a SCRAM-SHA-256 verifier (PostgreSQL's default
 * since 14) or the older md5 form. undefined when the value is neither (no password set, another method).
 */
export function passwordMatchesVerifier(verifier: string, user: string, password: string): boolean | undefined {
  const scram = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(verifier.trim())
  if (scram) {
    const iterations = Number(scram[1])
    const salt = Buffer.from(scram[2], 'base64')
    const storedKey = Buffer.from(scram[3], 'base64')
    // SASLprep is the identity for ASCII passwords; NFKC covers the common non-ASCII cases.
    const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256')
    const clientKey = createHmac('sha256', salted).update('Client Key').digest()
    const candidate = createHash('sha256').update(clientKey).digest()
    return candidate.length === storedKey.length && timingSafeEqual(candidate, storedKey)
  }
  const md5 = /^md5([0-9a-f]{32})$/.exec(verifier.trim())
  if (md5)
    return (
      createHash('md5')
        .update(password + user)
        .digest('hex') === md5[1]
    )
  return undefined
}

/** The server's verifier of the stack's user; undefined when the db is not running or it cannot be read. */
export async function serverVerifier(ctx: StackContext): Promise<string | undefined> {
  const db = await runningService(ctx.engine, ctx.config.project, 'db')
  if (!db) return undefined
  const result = await ctx.engine.containers.exec(
    db.id,
    psqlArgs('postgres', `SELECT rolpassword FROM pg_authid WHERE rolname = '${DB_USER}'`),
  )
  return result.exitCode !== 0 || !result.stdout.trim() ? undefined : result.stdout
}

/**
 * 'unknown' when the db is not running or the verifier cannot be read; never throws for that. `verifier`: the
 * server's, when the caller asked for it already (serverVerifier).
 */
export async function checkPasswordAgainstServer(
  ctx: StackContext,
  fileContent: string,
  verifier: Promise<string | undefined> = serverVerifier(ctx),
): Promise<PasswordCheck> {
  const answer = await verifier
  if (answer === undefined) return 'unknown'
  const matches = passwordMatchesVerifier(answer, DB_USER, passwordFromFile(fileContent))
  return matches === undefined ? 'unknown' : matches ? 'match' : 'mismatch'
}
