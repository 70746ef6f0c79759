/**
 * One stackctl command at a time per project on an engine, and per stack directory. A lock is a file created
 * exclusively, holding the owner's pid and command; a second command waits briefly, then fails naming the
 * holder. A lock left by a process that no longer exists is stale and taken over. The project lock lives in
 * stackctl's state directory (keyed by the engine's endpoint), so a command from another directory cannot
 * take the same project down in the middle of a check. Commands take the locks; the domain functions they
 * call (upStack, downStack, …) do not, so a command may compose several of them under one lock.
 */
import {constants} from 'node:fs'
import {open, readFile, rm} from 'node:fs/promises'
import {homedir, hostname} from 'node:os'
import path from 'node:path'

import {stackDirNotWritable} from '../stackdir/stack-files.js'
import {engineEndpoint} from '../engine/endpoint.js'
import {StackctlError} from '../errors.js'
import {ensureRealDirectory, lstatOptional, sha256} from '../files.js'

export interface LockOwner {
  pid: number
  command: string
  host: string
  since: string
}

export interface LockOptions {
  waitMs?: number
  pollMs?: number
}

export function lockFile(dir: string): string {
  return path.join(dir, 'stackctl.lock')
}

/** Where stackctl keeps state of its own: $STACKCTL_STATE_DIR, else $XDG_STATE_HOME/stackctl, else ~/.local/state/stackctl. */
export function stateDirectory(env: NodeJS.ProcessEnv = process.env): string {
  if (env.STACKCTL_STATE_DIR) return path.resolve(env.STACKCTL_STATE_DIR)
  return path.join(env.XDG_STATE_HOME || path.join(homedir(), '.local', 'state'), 'stackctl')
}

export function projectLockFile(project: string, env: NodeJS.ProcessEnv = process.env): string {
  const engine = sha256(engineEndpoint(env)).slice(0, 16)
  return path.join(stateDirectory(env), 'locks', engine, `${project}.lock`)
}

export interface LockTarget {
  paths: {dir: string}
  config: {project: string}
}

/** The lock files a command on `target` holds, project first: always taken in this order, so no deadlock. */
async function stackLockFiles(target: LockTarget): Promise<string[]> {
  const projectLock = projectLockFile(target.config.project)
  await ensureRealDirectory(path.dirname(projectLock), 0o700)
  const dirExists = (await lstatOptional(target.paths.dir))?.isDirectory()
  return dirExists ? [projectLock, lockFile(target.paths.dir)] : [projectLock]
}

/** Takes the project's lock, then the directory's (when the directory exists), runs `fn`, releases both. */
export async function withStackLock<T>(
  target: LockTarget,
  command: string,
  fn: () => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const files = await stackLockFiles(target)
  const held = files.reduceRight<() => Promise<T>>((inner, file) => () => withLock(file, command, inner, options), fn)
  return held()
}

/** One holder at a time for `file`. */
export async function withLock<T>(
  file: string,
  command: string,
  fn: () => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  await acquire(file, command, options.waitMs ?? 10_000, options.pollMs ?? 200)
  try {
    return await fn()
  } finally {
    await rm(file, {force: true})
  }
}

async function acquire(file: string, command: string, waitMs: number, pollMs: number): Promise<void> {
  const deadline = Date.now() + waitMs
  const me: LockOwner = {pid: process.pid, command, host: hostname(), since: new Date().toISOString()}
  for (;;) {
    try {
      // O_EXCL never follows a link: a link planted at the lock's path is an existing file, not a way out.
      const handle = await open(
        file,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o644,
      )
      await handle.writeFile(JSON.stringify(me))
      await handle.close()
      return
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw stackDirNotWritable(path.dirname(file), error)
    }
    const owner = await readOwner(file)
    if (owner && isStale(owner)) {
      await rm(file, {force: true})
      continue
    }
    if (Date.now() >= deadline) {
      const who = owner
        ? `'stackctl ${owner.command}' (pid ${owner.pid}, since ${owner.since})`
        : 'another stackctl command'
      const what =
        path.basename(file) === 'stackctl.lock'
          ? `the stack in ${path.dirname(file)}`
          : `project '${path.basename(file, '.lock')}'`
      throw new StackctlError(`${what} is busy: ${who} holds its lock`, {
        exitCode: 2,
        suggestion: `wait for it to finish, or if no stackctl is running remove ${file}`,
      })
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs))
  }
}

async function readOwner(file: string): Promise<LockOwner | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as LockOwner
  } catch {
    return undefined // being written right now, or already gone
  }
}

/** A lock from this host whose process is gone. Locks from other hosts are never judged stale. */
export function isStale(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return false
  try {
    process.kill(owner.pid, 0)
    return false
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH'
  }
}
