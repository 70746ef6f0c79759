/**
 * A command that is refused must leave the stack directory as it found it: `up --adopt` of a volume whose
 * password file is missing or wrong must not leave a half-made stack directory (app/, secrets/, stack.json)
 * that a later command would take for a real one. The snapshot holds what stackctl itself writes there;
 * restoring puts those files back, removes the ones that were not there and the directories it made, and
 * touches nothing else (never a recursive delete, never through a link).
 */
import {rm, rmdir} from 'node:fs/promises'
import path from 'node:path'

import {lstatOptional, readOptional, writeFileAtomic} from './files.js'
import type {StackPaths} from './stack-files.js'

interface FileBefore {
  file: string
  /** undefined: it did not exist. */
  content: string | undefined
  mode: number
}

export interface StackDirSnapshot {
  files: FileBefore[]
  /** The directories that did not exist, innermost first. */
  missingDirs: string[]
}

function writtenFiles(paths: StackPaths): string[] {
  return [
    paths.stateFile,
    paths.composeFile,
    paths.composeHashesFile,
    paths.passwordFile,
    path.join(paths.appContext, 'Dockerfile'),
    path.join(paths.appContext, 'server.mjs'),
  ]
}

/** Files that cannot be read (a link, say) are left out: the command refuses them itself and never writes them. */
export async function snapshotStackDir(paths: StackPaths): Promise<StackDirSnapshot> {
  const files: FileBefore[] = []
  for (const file of writtenFiles(paths)) {
    try {
      const info = await lstatOptional(file)
      files.push({file, content: await readOptional(file), mode: (info?.mode ?? 0o644) & 0o777})
    } catch {
      // Not a regular file: nothing stackctl writes replaces it.
    }
  }
  const missingDirs: string[] = []
  for (const dir of [paths.appContext, paths.secretsDir, paths.dir]) {
    if (!(await lstatOptional(dir))) missingDirs.push(dir)
  }
  return {files, missingDirs}
}

/** Puts back what the snapshot holds; best effort per entry, so one failure does not leave the rest. */
export async function restoreStackDir(snapshot: StackDirSnapshot): Promise<void> {
  for (const {file, content, mode} of snapshot.files) {
    try {
      const info = await lstatOptional(file)
      if (content === undefined) {
        if (info?.isFile()) await rm(file)
      } else if (!info?.isFile() || (await readOptional(file)) !== content) {
        await writeFileAtomic(file, content, mode)
      }
    } catch {
      // Left as it is: the next command checks it again.
    }
  }
  for (const dir of snapshot.missingDirs) {
    // rmdir removes only an empty directory that is not a link: whatever else landed there stays.
    await rmdir(dir).catch(() => undefined)
  }
}

/** For `.catch`: restores the snapshot, then rethrows the error that ended the command. */
export function restoringStackDir(snapshot: StackDirSnapshot): (error: unknown) => Promise<never> {
  return async (error) => {
    await restoreStackDir(snapshot)
    throw error
  }
}
