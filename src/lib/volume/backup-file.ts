/**
 * Where a backup is written, without ever following a link or overwriting anything: the dump goes to a
 * temporary file of this run's own (created exclusively, O_NOFOLLOW) in the target's directory, is synced,
 * and is then hard-linked to the target name, which fails rather than replace whatever appeared there.
 * Temporary files of runs that died are removed by the next backup to the same name.
 */
import {randomBytes} from 'node:crypto'
import {constants} from 'node:fs'
import {link, open, readdir, rename, rm, stat, type FileHandle} from 'node:fs/promises'
import path from 'node:path'
import {Writable} from 'node:stream'

import {UsageError} from '../errors.js'
import {ensureRealDirectory, lstatOptional} from '../files.js'

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

/** Refuses a target that exists in any form (a link included); creates its directory when missing. */
export async function prepareTarget(target: string, options: {stackDirectory: boolean}): Promise<void> {
  const existing = await lstatOptional(target)
  if (existing?.isSymbolicLink()) {
    throw new UsageError(
      `${target} is a symbolic link`,
      'choose a path that does not exist yet; stackctl never writes through a link',
    )
  }
  if (existing)
    throw new UsageError(`${target} already exists`, 'choose another file name; a backup is never overwritten')
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
  private constructor(
    readonly target: string,
    readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  static async create(target: string, random = randomBytes(4).toString('hex')): Promise<PartialFile> {
    const file = partialName(target, process.pid, random)
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW
    return new PartialFile(target, file, await open(file, flags, 0o600))
  }

  /** The stream to write the dump into; it leaves the file open for the sync. */
  stream(): Writable {
    const handle = this.handle
    return new Writable({
      write(chunk: Buffer, _encoding, callback) {
        writeAll(handle, chunk).then(() => callback(), callback)
      },
    })
  }

  /** Syncs, closes and links the file to its target name: never over an existing entry. */
  async commit(): Promise<void> {
    await this.handle.sync()
    await this.handle.close()
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

  /** Closes and removes the temporary file; true when there was one to remove. */
  async discard(): Promise<boolean> {
    await this.handle.close().catch(() => {})
    const existed = Boolean(await lstatOptional(this.path))
    await rm(this.path, {force: true})
    return existed
  }
}

async function writeAll(handle: FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0
  while (offset < chunk.length) {
    const {bytesWritten} = await handle.write(chunk, offset, chunk.length - offset)
    offset += bytesWritten
  }
}

/** Makes the new directory entry durable; best effort (not every filesystem allows it). */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY).catch(() => undefined)
  if (!handle) return
  await handle.sync().catch(() => {})
  await handle.close()
}
