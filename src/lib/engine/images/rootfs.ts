/**
 * The debootstrapped root filesystem on the host: trimming it, reading what got installed, and removing it.
 * A rootfs is a foreign tree that contains absolute symlinks (var/run -> /run) and, while debootstrap runs or
 * after it was killed, mounts of /proc and /sys: nothing here follows a symlink or descends into a mount.
 */
import {lstat, readdir, readFile, realpath, rm} from 'node:fs/promises'
import path from 'node:path'

import createDebug from 'debug'

import {EnvironmentError} from '../../errors.js'
import {run} from '../process/run.js'
import {packageVersion, shouldTrim, type TrimRule} from './image-specs.js'

const debug = createDebug('stackctl:images')

/** Applies the rules; returns the bytes freed. A rule whose folder is missing or leaves the rootfs is skipped. */
export async function trimRootfs(rootfs: string, rules: readonly TrimRule[]): Promise<number> {
  const root = await realpath(rootfs)
  let freed = 0
  for (const rule of rules) {
    const dir = path.join(root, rule.dir)
    if (!(await isRealDirectoryInside(root, dir))) {
      debug('trim: skipping %s (missing, a symlink, or outside the rootfs)', rule.dir)
      continue
    }
    for (const entry of await readdir(dir)) {
      if (!shouldTrim(rule, entry)) continue
      const target = path.join(dir, entry)
      freed += await treeSize(target)
      await rm(target, {recursive: true, force: true})
    }
  }
  return freed
}

/** The installed version of a package in the rootfs (from its dpkg status), or 'unknown'. */
export async function installedVersion(rootfs: string, name: string): Promise<string> {
  const status = await readFile(path.join(rootfs, 'var/lib/dpkg/status'), 'utf8').catch(() => '')
  return packageVersion(status, name) ?? 'unknown'
}

/** Mount points at or below `dir`, deepest first, read from the mount table. */
export async function mountsUnder(dir: string, mountTable?: string): Promise<string[]> {
  const table = mountTable ?? (await readFile('/proc/self/mounts', 'utf8').catch(() => ''))
  const prefix = dir.endsWith('/') ? dir : `${dir}/`
  return table
    .split('\n')
    .map((line) => line.split(' ')[1])
    .filter((point): point is string => Boolean(point))
    .map((point) =>
      point.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8))),
    )
    .filter((point) => point === dir || point.startsWith(prefix))
    .sort((a, b) => b.length - a.length)
}

/**
 * Removes a build's temporary folder. A debootstrap that was killed can leave /proc, /sys or /dev mounted
 * inside: those are unmounted first, and the folder is left alone (with an error) if that fails, since a
 * recursive delete would reach into the host's mounts.
 */
export async function removeBuildDir(dir: string): Promise<void> {
  for (const point of await mountsUnder(dir)) {
    await run('umount', ['--lazy', point], {reject: false})
  }
  const remaining = await mountsUnder(dir)
  if (remaining.length > 0) {
    throw new EnvironmentError(
      `left ${dir} in place: ${remaining.join(', ')} still mounted`,
      `unmount them (umount --lazy ${remaining[0]}) and remove ${dir}`,
    )
  }
  await rm(dir, {recursive: true, force: true})
}

async function isRealDirectoryInside(root: string, dir: string): Promise<boolean> {
  try {
    const stat = await lstat(dir)
    return stat.isDirectory() && (await realpath(dir)).startsWith(`${root}/`)
  } catch {
    return false
  }
}

async function treeSize(target: string): Promise<number> {
  const stat = await lstat(target)
  if (!stat.isDirectory()) return stat.size
  let total = 0
  for (const entry of await readdir(target)) total += await treeSize(path.join(target, entry))
  return total
}
