/**
 * Where a backup is written, without ever following a link or overwriting anything: the dump and its record
 * each go to a temporary file of this run's own (created exclusively, O_NOFOLLOW) in the target's directory,
 * are synced, and are then hard-linked to their names, which fails rather than replace whatever appeared
 * there. The record takes its name first, so a dump under its final name always has its record; when either
 * cannot be written, neither is left. Temporary files of runs that died are removed by the next backup to the
 * same name. A full, read-only or forbidden directory is one line saying what, where and how much room there was.
 */
import {randomBytes} from 'node:crypto'
import {constants} from 'node:fs'
import {link, open, readdir, rename, rm, stat, statfs, type FileHandle} from 'node:fs/promises'
import path from 'node:path'
import {Writable} from 'node:stream'

import {StackctlError, UsageError} from '../../errors.js'
import {ensureRealDirectory, lstatOptional} from '../../model/stackdir/files.js'
import {formatBytes, sidecarPath} from './format.js'

/** `.<name>.<pid>-<random>.partial` next to the target. */
export function partialName(target: string, pid: number, random: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${pid}-${random}.partial`)
}

/** The pid in a partial file's name when it belongs to `target`, else undefined. */
export function partialOwner(target: string, entry: string): number | undefined {
  const prefix = `.${path.basename(target)}.`
  if (!entry.startsWith(prefix)) return undefined
  const match = /^(\d+)-[0-9a-f]{8}\.partial$/.exec(entry.slice(prefix.length))
  return match ? Number(match[1]) : undefined
}

/**
 * Refuses a target or a record name that exists in any form (a link included); creates the directory when
 * missing.
 */
export async function prepareTarget(target: string, options: {stackDirectory: boolean}): Promise<void> {
  for (const name of [target, sidecarPath(target)]) {
    const existing = await lstatOptional(name)
    if (existing?.isSymbolicLink()) {
      throw new UsageError(
        `${name} is a symbolic link`,
        'choose a path that does not exist yet; stackctl never writes through a link',
      )
    }
    if (existing)
      throw new UsageError(`${name} already exists`, 'choose another file name; a backup is never overwritten')
  }
  const dir = path.dirname(target)
  // In the stack directory the backups folder must be a real one; elsewhere the user chose the folder.
  const dirInfo = options.stackDirectory ? undefined : await stat(dir).catch(() => undefined)
  if (dirInfo && !dirInfo.isDirectory()) throw new UsageError(`${dir} is not a directory`, 'choose another path')
  if (!dirInfo) await ensureRealDirectory(dir, 0o700)
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Removes temporary files for `target` left by runs whose process is gone; returns their paths. */
export async function removeStalePartials(target: string): Promise<string[]> {
  const dir = path.dirname(target)
  const removed: string[] = []
  for (const entry of await readdir(dir).catch(() => [] as string[])) {
    const pid = partialOwner(target, entry)
    if (pid === undefined || isAlive(pid)) continue
    const file = path.join(dir, entry)
    if (!(await lstatOptional(file))?.isFile()) continue
    await rm(file, {force: true})
    removed.push(file)
  }
  return removed
}

export class PartialFile {
  /** The file's identity once sealed, so that only this very file is ever removed from the target name. */
  private sealed?: {dev: number; ino: number}
  /** Bytes the filesystem accepted (what went through the pipe may be more). */
  bytesWritten = 0

  private constructor(
    readonly target: string,
    readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  static async create(target: string, random = randomBytes(4).toString('hex'), mode = 0o600): Promise<PartialFile> {
    const file = partialName(target, process.pid, random)
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW
    const handle = await open(file, flags, mode)
    await handle.chmod(mode) // whatever the umask
    return new PartialFile(target, file, handle)
  }

  /** The stream to write the dump into; it leaves the file open for the sync. */
  stream(): Writable {
    return new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        this.write(chunk).then(() => callback(), callback)
      },
    })
  }

  async write(content: string | Buffer): Promise<void> {
    const chunk = Buffer.from(content)
    let offset = 0
    try {
      while (offset < chunk.length) {
        const {bytesWritten} = await this.handle.write(chunk, offset, chunk.length - offset)
        offset += bytesWritten
      }
    } finally {
      this.bytesWritten += offset
    }
  }

  /** Syncs and closes the file: its content is on disk, under the temporary name still. */
  async seal(): Promise<void> {
    await this.handle.sync()
    const {dev, ino} = await this.handle.stat()
    await this.handle.close()
    this.sealed = {dev, ino}
  }

  /** Links the sealed file to its target name, never over an existing entry, and drops the temporary name. */
  async publish(): Promise<void> {
    try {
      await link(this.path, this.target)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'EEXIST') {
        throw new UsageError(`${this.target} appeared while the backup ran`, 'choose another file name and try again')
      }
      // Filesystems without hard links: rename, after checking once more that the name is free.
      if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'].includes(code ?? '') || (await lstatOptional(this.target))) {
        throw error
      }
      await rename(this.path, this.target)
      return
    }
    await rm(this.path, {force: true})
    await syncDirectory(path.dirname(this.target))
  }

  /** seal, then publish. */
  async commit(): Promise<void> {
    await this.seal()
    await this.publish()
  }

  /** Removes the target name again if it is still this file (published, then the step after it failed). */
  async retract(): Promise<void> {
    const info = await lstatOptional(this.target)
    if (!this.sealed || !info || info.dev !== this.sealed.dev || info.ino !== this.sealed.ino) return
    await rm(this.target, {force: true})
  }

  /** Closes and removes the temporary file; true when there was one to remove. */
  async discard(): Promise<boolean> {
    await this.handle.close().catch(() => {})
    const existed = Boolean(await lstatOptional(this.path))
    await rm(this.path, {force: true})
    return existed
  }
}

/**
 * Gives a sealed dump its final name together with its record: the record is written, synced and linked
 * first, then the dump. When any step fails, both names and both temporary files are removed, and the error
 * is passed on.
 */
export async function publishWithRecord(dump: PartialFile, record: string): Promise<void> {
  const sidecar = await PartialFile.create(sidecarPath(dump.target), undefined, 0o644).catch(async (error: unknown) => {
    await dump.discard()
    throw error
  })
  try {
    await sidecar.write(record)
    await sidecar.seal()
    await sidecar.publish()
    await dump.publish()
  } catch (error) {
    await sidecar.retract()
    await Promise.all([sidecar.discard(), dump.discard()])
    throw error
  }
}

/** Bytes free for an unprivileged writer in `dir`; undefined when the filesystem does not say. */
export async function freeSpace(dir: string): Promise<number | undefined> {
  try {
    const info = await statfs(dir)
    return info.bavail * info.bsize
  } catch {
    return undefined
  }
}

export interface WriteContext {
  /** What was being written, e.g. "the backup /b/x.dump" or "the record /b/x.dump.json". */
  what: string
  dir: string
  /** Bytes free in `dir` when the backup started. */
  freeBefore: number | undefined
  /** What the space went to, e.g. "612 KB of the dump written". */
  written: string
  /** What was left as it was, e.g. "nothing was left in /b". */
  unchanged: string
}

/**
 * A filesystem refusing a write (full, over quota, read-only, forbidden) as one line saying what, where and,
 * for a full device, how much room there was; undefined for any other failure.
 */
export function writeFailure(error: unknown, context: WriteContext): StackctlError | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? ''
  const fail = (problem: string, hint: string) =>
    new StackctlError(`could not write ${context.what}: ${problem}`, {
      suggestion: `${hint}; ${context.unchanged}`,
      cause: error,
    })
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    const free = context.freeBefore === undefined ? 'unknown' : formatBytes(context.freeBefore)
    return fail(
      `${code === 'EDQUOT' ? 'the disk quota is exceeded' : 'no space left on the device'} in ${context.dir} (${context.written}; ${free} was free when the backup started)`,
      'free some space there or write the backup to another directory (stackctl volume backup FILE)',
    )
  }
  if (code === 'EROFS') {
    return fail(`${context.dir} is on a read-only filesystem`, 'write the backup to another directory')
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return fail(
      `permission denied in ${context.dir}`,
      'check the permissions of that directory or write the backup to another one',
    )
  }
  return undefined
}

/** Makes the new directory entry durable; best effort (not every filesystem allows it). */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY).catch(() => undefined)
  if (!handle) return
  await handle.sync().catch(() => {})
  await handle.close()
}
