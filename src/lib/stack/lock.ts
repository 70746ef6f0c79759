/**
 * One stackctl command at a time per project on an engine, and per stack directory. A lock is a file holding
 * the owner's pid, the process's start time and its command, written in full to a temporary file and then
 * hard-linked to the lock's name, so a valid lock is never seen empty; a second command waits briefly, then
 * fails naming the holder. A lock is stale, and taken over, when its process is gone, when its pid now names
 * another process (a different start time), or when it holds no owner at all (empty or garbled). The project lock lives in
 * stackctl's state directory (keyed by the engine's endpoint), so a command from another directory cannot
 * take the same project down in the middle of a check. Commands take the locks; the domain functions they
 * call (upStack, downStack, …) do not, so a command may compose several of them under one lock.
 */
import {randomBytes} from 'node:crypto'
import {constants, type Stats} from 'node:fs'
import {link, lstat, open, rename, rm} from 'node:fs/promises'
import {homedir, hostname} from 'node:os'
import path from 'node:path'

import {readState, stackDirNotWritable, StackStateUnreadable, type StackPaths} from '../model/stackdir/stack-files.js'
import {engineEndpoint} from '../engine/endpoint.js'
import {StackctlError} from '../errors.js'
import {ensureRealDirectory, lstatOptional, sha256} from '../model/stackdir/files.js'
import {type Clock, systemClock} from '../engine/wait/clock.js'
import {ready, type Look, waitUntil, waiting} from '../engine/wait/wait-until.js'
import {processIdentity} from './process-identity.js'

export interface LockOwner {
  pid: number
  command: string
  host: string
  since: string
  /** Which process `pid` was when the lock was taken (Linux; absent from older stackctl's locks). */
  bootId?: string
  startTicks?: number
}

export interface LockOptions {
  waitMs?: number
  pollMs?: number
  /** Called once, when the lock is first found held by a live owner, before waiting for it. */
  onBusy?: (owner: LockOwner) => void
  /** The system's unless a test hands in a fake one. */
  clock?: Clock
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
  paths: {dir: string} | StackPaths
  config: {project: string}
  /** stack.json as the command read it before taking the lock (a stack context's `state`). */
  state?: unknown
  /** --adopt: a stack.json that cannot be read may be re-attached (a stack context's `adopt`). */
  adopt?: boolean
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
  let waitedFor: LockOwner | undefined
  const onBusy = (owner: LockOwner) => {
    waitedFor ??= owner
    options.onBusy?.(owner)
  }
  const checked = async () => {
    await refuseChangedSinceRead(target, command, waitedFor)
    return fn()
  }
  const held = files.reduceRight<() => Promise<T>>(
    (inner, file) => () => withLock(file, command, inner, {...options, onBusy}),
    checked,
  )
  return held()
}

/**
 * A command read stack.json before it took the lock: acting on what it read when the stack has changed since
 * would act on a stack that is no longer there (seen: a second `db restore` that waited for the first took the
 * volume the first had just switched to for an unfinished one, and asked the engine to remove it; only its being
 * in use stopped that). Checked whether it waited or not: the other command may have finished between this
 * one's read and its first look at the lock, and then the lock was simply free.
 */
async function refuseChangedSinceRead(target: LockTarget, command: string, waitedFor?: LockOwner): Promise<void> {
  if (!('state' in target) || !('stateFile' in target.paths)) return
  const {paths} = target
  const now = await readState(paths).catch((error: unknown) => {
    // --adopt re-attaching a directory whose stack.json could not be read (stack/context.ts): it read no state
    // and there is still none to read.
    if (error instanceof StackStateUnreadable && target.adopt && target.state === undefined) return undefined
    throw error
  })
  if (JSON.stringify(now) === JSON.stringify(target.state)) return
  const what = waitedFor
    ? `'stackctl ${waitedFor.command}' (pid ${waitedFor.pid}) changed the stack while ${command} waited for its lock`
    : `${paths.stateFile} changed after ${command} read it`
  throw new StackctlError(`${what}; ${command} did nothing`, {
    exitCode: 2,
    suggestion: 'run the same command again: it starts from the stack as it is now',
  })
}

/** One holder at a time for `file`. */
export async function withLock<T>(
  file: string,
  command: string,
  fn: () => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const held = await acquire(file, command, options)
  try {
    return await fn()
  } finally {
    await removeIfSame(file, held)
  }
}

async function acquire(file: string, command: string, options: LockOptions): Promise<Stats> {
  const waitMs = options.waitMs ?? 10_000
  const pollMs = options.pollMs ?? 200
  const clock = options.clock ?? systemClock
  const me: LockOwner = {
    pid: process.pid,
    command,
    host: hostname(),
    since: new Date().toISOString(),
    ...processIdentity(process.pid),
  }
  let told = false
  /** An unreadable lock seen at the previous look: stale if it is still the very same file, unchanged. */
  let suspect: string | undefined
  /** One look: the lock taken (a free or stale one), or who holds it (undefined: an unreadable lock). */
  const attempt = async (): Promise<Look<Stats, LockOwner | undefined>> => {
    for (;;) {
      const placed = await place(file, JSON.stringify(me))
      if (placed) return ready(placed)
      const found = await readLock(file)
      if (!found) continue // released meanwhile
      if ('owner' in found) {
        if (isStale(found.owner)) {
          await removeIfSame(file, found.stats)
          continue
        }
        suspect = undefined
        if (!told) options.onBusy?.(found.owner)
        told = true
        return waiting(found.owner)
      }
      // Written by a stackctl that created the file before filling it (or cut short by a crash): an empty or
      // garbled lock that stays the same from one look to the next has no writer left.
      const signature = `${found.stats.dev}:${found.stats.ino}:${found.stats.size}:${found.stats.mtimeMs}`
      if (signature === suspect) {
        await removeIfSame(file, found.stats)
        continue
      }
      suspect = signature
      return waiting(undefined)
    }
  }
  // Whole pauses: an unreadable lock is judged by two looks a full poll apart.
  const outcome = await waitUntil(attempt, {
    timeoutMs: waitMs,
    intervalMs: pollMs,
    clock,
    lastLookAtDeadline: false,
    describe: `the lock ${file}`,
  })
  if (outcome.state === 'ready') return outcome.value
  let owner = outcome.state === 'timed-out' ? outcome.last : undefined
  if (owner === undefined) {
    // An unreadable lock gets one more look before the refusal, to be judged unchanged.
    await clock.sleep(pollMs)
    const last = await attempt()
    if (last.state === 'ready') return last.value
    owner = last.observed
  }
  throw busy(file, owner)
}

function busy(file: string, owner: LockOwner | undefined): StackctlError {
  const who = owner
    ? `'stackctl ${owner.command}' (pid ${owner.pid}, since ${owner.since})`
    : 'another stackctl command'
  const what =
    path.basename(file) === 'stackctl.lock'
      ? `the stack in ${path.dirname(file)}`
      : `project '${path.basename(file, '.lock')}'`
  return new StackctlError(`${what} is busy: ${who} holds its lock`, {
    exitCode: 2,
    suggestion: `wait for it to finish, or if no stackctl is running remove ${file}`,
  })
}

/**
 * Puts a complete lock at `file` unless something is there: the content goes to a temporary file of our own
 * (exclusive, never through a link), which is then hard-linked to the name; link never replaces an entry nor
 * follows a link planted there. Resolves the lock's file status, or undefined when the name is taken.
 */
async function place(file: string, content: string): Promise<Stats | undefined> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW
  const temp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`
  let stats: Stats
  try {
    const handle = await open(temp, flags, 0o644)
    try {
      await handle.writeFile(content)
      stats = await handle.stat()
    } finally {
      await handle.close()
    }
  } catch (error) {
    await rm(temp, {force: true})
    throw stackDirNotWritable(path.dirname(file), error)
  }
  try {
    await link(temp, file)
    return stats
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? ''
    if (code === 'EEXIST') return undefined
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'].includes(code))
      throw stackDirNotWritable(path.dirname(file), error)
    return placeWithoutLinks(file, content)
  } finally {
    await rm(temp, {force: true})
  }
}

/** Filesystems without hard links: create exclusively, then fill (an empty file is briefly visible). */
async function placeWithoutLinks(file: string, content: string): Promise<Stats | undefined> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW
  try {
    const handle = await open(file, flags, 0o644)
    try {
      await handle.writeFile(content)
      return await handle.stat()
    } finally {
      await handle.close()
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined
    throw stackDirNotWritable(path.dirname(file), error)
  }
}

type Found = {owner: LockOwner; stats: Stats} | {unreadable: true; stats: Stats}

/** The lock at `file` (never through a link), or undefined when there is none. */
async function readLock(file: string): Promise<Found | undefined> {
  const info = await lstatOptional(file)
  if (!info) return undefined
  if (!info.isFile()) {
    throw new StackctlError(
      `${file} is ${info.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'}, not a lock`,
      {
        exitCode: 2,
        suggestion: `stackctl never follows links where it writes; remove ${file} and run the command again`,
      },
    )
  }
  let handle
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw stackDirNotWritable(path.dirname(file), error)
  }
  try {
    const stats = await handle.stat()
    const owner = parseOwner(await handle.readFile('utf8'))
    return owner ? {owner, stats} : {unreadable: true, stats}
  } finally {
    await handle.close()
  }
}

/** A lock's content as an owner; undefined when it is empty or not a lock. */
export function parseOwner(text: string): LockOwner | undefined {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  if (value === null || typeof value !== 'object') return undefined
  const owner = value as Partial<LockOwner>
  if (typeof owner.pid !== 'number' || typeof owner.host !== 'string') return undefined
  return {
    pid: owner.pid,
    host: owner.host,
    command: typeof owner.command === 'string' ? owner.command : 'unknown command',
    since: typeof owner.since === 'string' ? owner.since : 'an unknown time',
    ...(typeof owner.bootId === 'string' && typeof owner.startTicks === 'number'
      ? {bootId: owner.bootId, startTicks: owner.startTicks}
      : {}),
  }
}

/**
 * A lock nobody holds: a pid that cannot be a process (0, negative, not a number), or, from this host, a
 * process that is gone or whose pid now names another process (it started at another time, or in another
 * boot). Locks from other hosts are judged only by the first rule.
 */
export function isStale(owner: LockOwner, identify = processIdentity): boolean {
  if (!Number.isSafeInteger(owner.pid) || owner.pid <= 0) return true
  if (owner.host !== hostname()) return false
  try {
    process.kill(owner.pid, 0)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return true
  }
  if (owner.bootId === undefined || owner.startTicks === undefined) return false
  const now = identify(owner.pid)
  return now !== undefined && (now.bootId !== owner.bootId || now.startTicks !== owner.startTicks)
}

/**
 * Removes the lock at `file` if it is still the file described by `stats`. Moved aside first, then checked:
 * another command may have taken a stale lock over and put its own in the meantime, and that one is put back.
 */
async function removeIfSame(file: string, stats: Stats): Promise<void> {
  const aside = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.stale`
  try {
    await rename(file, aside)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  const moved = await lstat(aside)
  if (moved.dev !== stats.dev || moved.ino !== stats.ino) {
    await link(aside, file).catch(() => {}) // a third command took the name meanwhile: its lock stands
  }
  await rm(aside, {force: true})
}
