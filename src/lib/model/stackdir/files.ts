/**
 * File helpers for everything stackctl writes. Nothing here follows a symbolic link where it writes, creates,
 * chmods or chowns: a link planted in the stack directory (say `secrets/db_password` → /etc/shadow) must never
 * redirect a write or a permission change, so such paths are refused instead.
 */
import {createHash, randomBytes} from 'node:crypto'
import {constants, type Stats} from 'node:fs'
import {chmod, lstat, mkdir, open, rename, rm, stat, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {StackctlError} from '../../errors.js'

export function sha256(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex')
}

/** A path that is a symbolic link (or not the kind of entry expected) where stackctl writes. */
export class UnsafePath extends StackctlError {
  constructor(
    readonly file: string,
    what: string,
  ) {
    super(`refusing to use ${file}: ${what}`, {
      exitCode: 2,
      suggestion: `stackctl never follows symbolic links in the stack directory; replace ${file} with a real ${what.includes('directory') ? 'directory' : 'file'} or choose another --dir`,
    })
  }
}

/** lstat that answers undefined for a missing entry (or a missing parent). */
export async function lstatOptional(file: string): Promise<Stats | undefined> {
  try {
    return await lstat(file)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw error
  }
}

/** Reads a regular file without following a link; undefined when it does not exist. */
export async function readOptional(file: string): Promise<string | undefined> {
  const info = await lstatOptional(file)
  if (!info) return undefined
  if (info.isSymbolicLink()) throw new UnsafePath(file, 'it is a symbolic link')
  if (!info.isFile()) throw new UnsafePath(file, 'it is not a regular file')
  let handle
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return undefined
    if (code === 'ELOOP') throw new UnsafePath(file, 'it is a symbolic link')
    throw error
  }
  try {
    return await handle.readFile('utf8')
  } finally {
    await handle.close()
  }
}

/**
 * Writes through a fresh temporary file (created exclusively, so never through a link) renamed over the
 * target: a rename replaces a link itself rather than what it points to, and an interrupted write never leaves
 * half a file behind.
 */
export async function writeFileAtomic(file: string, content: string | Buffer, mode: number): Promise<void> {
  const existing = await lstatOptional(file)
  if (existing?.isSymbolicLink()) throw new UnsafePath(file, 'it is a symbolic link')
  if (existing && !existing.isFile()) throw new UnsafePath(file, 'it is not a regular file')
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    await writeFile(temp, content, {mode, flag: 'wx'})
    await chmod(temp, mode)
    await rename(temp, file)
  } catch (error) {
    await rm(temp, {force: true})
    throw error
  }
}

/**
 * Makes sure `dir` is a real directory (not a link), creating it and any missing parents one by one. Node's
 * recursive mkdir spins forever on some paths (`/proc/x`); walking the parents fails fast instead.
 */
export async function ensureRealDirectory(dir: string, mode = 0o755): Promise<void> {
  const absolute = path.resolve(dir)
  const missing: string[] = []
  let current = absolute
  for (;;) {
    const info = await lstatOptional(current)
    if (info) {
      if (current === absolute && info.isSymbolicLink()) throw new UnsafePath(current, 'it is a symbolic link')
      if (!(await isDirectory(current, info))) throw new UnsafePath(current, 'it is not a directory')
      break
    }
    missing.push(current)
    const parent = path.dirname(current)
    if (parent === current) break
    current = parent
  }
  for (const directory of missing.reverse()) {
    try {
      await mkdir(directory, {mode})
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const info = await lstat(directory)
      if (info.isSymbolicLink() || !info.isDirectory()) throw new UnsafePath(directory, 'it is not a directory')
    }
  }
}

/** Parents above the stack directory may be links (the user chose them); the entry itself is checked by lstat. */
async function isDirectory(file: string, info: Stats): Promise<boolean> {
  if (info.isDirectory()) return true
  if (!info.isSymbolicLink()) return false
  try {
    return (await stat(file)).isDirectory()
  } catch {
    return false
  }
}

/** A child of the stack directory that must be a real directory: created if missing, refused if a link. */
export async function ensureChildDirectory(dir: string, mode: number): Promise<void> {
  const info = await lstatOptional(dir)
  if (info?.isSymbolicLink()) throw new UnsafePath(dir, 'it is a symbolic link to a directory')
  if (info && !info.isDirectory()) throw new UnsafePath(dir, 'it is not a directory')
  if (!info) {
    try {
      await mkdir(dir, {mode})
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      return ensureChildDirectory(dir, mode)
    }
  }
  await chmod(dir, mode)
}
