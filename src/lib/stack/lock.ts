/**
 * One stackctl command at a time per stack directory. The lock is a file created exclusively, holding the
 * owner's pid and command; a second command waits briefly, then fails naming the holder. A lock left by a
 * process that no longer exists is stale and taken over. Commands take it; the domain functions they call
 * (upStack, downStack, …) do not, so a command may compose several of them under one lock.
 */
import {mkdir, open, readFile, rm} from 'node:fs/promises'
import {hostname} from 'node:os'
import path from 'node:path'

import {stackDirNotWritable} from '../compose/stack-files.js'
import {StackctlError} from '../errors.js'

export interface LockOwner {
  pid: number
  command: string
  host: string
  since: string
}

export function lockFile(dir: string): string {
  return path.join(dir, 'stackctl.lock')
}

export async function withStackLock<T>(
  dir: string,
  command: string,
  fn: () => Promise<T>,
  options: {waitMs?: number; pollMs?: number} = {},
): Promise<T> {
  const file = lockFile(dir)
  await acquire(file, command, options.waitMs ?? 10_000, options.pollMs ?? 200)
  try {
    return await fn()
  } finally {
    await rm(file, {force: true})
  }
}

async function acquire(file: string, command: string, waitMs: number, pollMs: number): Promise<void> {
  await mkdir(path.dirname(file), {recursive: true}).catch((error) => {
    throw stackDirNotWritable(path.dirname(file), error)
  })
  const deadline = Date.now() + waitMs
  const me: LockOwner = {pid: process.pid, command, host: hostname(), since: new Date().toISOString()}
  for (;;) {
    try {
      const handle = await open(file, 'wx', 0o644)
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
      throw new StackctlError(`the stack in ${path.dirname(file)} is busy: ${who} holds its lock`, {
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
