/**
 * The directory the manifests go to. stackctl writes only into a new or empty directory, or one it wrote
 * before: a marker file records the sha256 of every file it wrote, so a hand-edited file is refused (unless
 * --force) instead of silently overwritten. Nothing follows a symbolic link; every file is written through a
 * temporary file renamed over it. Checking is separate from writing, so a refusal leaves everything as it was.
 */
import {readdir, rm} from 'node:fs/promises'
import path from 'node:path'

import {EnvironmentError, StackctlError, UsageError} from '../../errors.js'
import {
  ensureRealDirectory,
  lstatOptional,
  readOptional,
  sha256,
  UnsafePath,
  writeFileAtomic,
} from '../../model/stackdir/files.js'
import {TEMPLATE_NAMES, type ManifestFile} from './render.js'

export const MARKER_FILE = 'stackctl-render.json'

/** For each file stackctl wrote, the hashes its content may have: one, or two while a write is under way. */
interface Marker {
  renderedBy: 'stackctl'
  files: Record<string, string[]>
}

export interface OutputPlan {
  dir: string
  files: ManifestFile[]
  /** What the marker recorded before this render. */
  recorded: Record<string, string[]>
  /** Files this render no longer produces (say, the StatefulSet after switching to CloudNativePG). */
  stale: string[]
}

export async function checkOutputDir(dir: string, files: ManifestFile[], force: boolean): Promise<OutputPlan> {
  return explainFailure(dir, () => checkDir(dir, files, force))
}

async function checkDir(dir: string, files: ManifestFile[], force: boolean): Promise<OutputPlan> {
  const info = await lstatOptional(dir)
  if (info?.isSymbolicLink()) throw new UnsafePath(dir, 'it is a symbolic link to a directory')
  if (info && !info.isDirectory()) throw new UnsafePath(dir, 'it is not a directory')
  const entries = info ? await readdir(dir) : []
  const recorded = entries.length === 0 ? {} : await readMarker(dir, entries)
  const edited: string[] = []
  for (const name of new Set([...Object.keys(recorded), ...files.map((file) => file.name)])) {
    const onDisk = await readOptional(path.join(dir, name))
    const next = files.find((file) => file.name === name)
    const accepted = [...(recorded[name] ?? []), ...(next ? [sha256(next.text)] : [])]
    if (onDisk !== undefined && !accepted.includes(sha256(onDisk))) edited.push(name)
  }
  if (edited.length > 0 && !force) {
    throw new StackctlError(`${path.join(dir, edited[0])} was edited by hand since stackctl wrote it`, {
      exitCode: 2,
      suggestion:
        'keep your changes in an overlay (a kustomization elsewhere listing this directory under resources), or pass --force to overwrite them',
    })
  }
  const names = new Set(files.map((file) => file.name))
  const stale = Object.keys(recorded).filter((name) => !names.has(name))
  return {dir, files, recorded, stale}
}

/** Writes the files and removes stale ones; the marker first accepts both old and new content, then only new. */
export async function writeOutputDir(plan: OutputPlan): Promise<{written: boolean}> {
  return explainFailure(plan.dir, () => writeDir(plan))
}

async function writeDir(plan: OutputPlan): Promise<{written: boolean}> {
  const {dir, files, recorded} = plan
  await ensureRealDirectory(dir)
  const during: Record<string, string[]> = {...recorded}
  for (const file of files) during[file.name] = [...(recorded[file.name] ?? []), sha256(file.text)]
  await writeMarker(dir, during)
  let written = false
  for (const file of files) {
    const target = path.join(dir, file.name)
    if ((await readOptional(target)) === file.text) continue
    await writeFileAtomic(target, file.text, 0o644)
    written = true
  }
  for (const name of plan.stale) {
    if (await readOptional(path.join(dir, name))) written = true
    await rm(path.join(dir, name), {force: true})
  }
  await writeMarker(dir, Object.fromEntries(files.map((file) => [file.name, [sha256(file.text)]])))
  return {written}
}

/** A directory that cannot be read or written (permissions, a full disk) is an environment problem, exit 2. */
async function explainFailure<T>(dir: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    if (error instanceof StackctlError) throw error
    const code = (error as NodeJS.ErrnoException).code ?? 'error'
    throw new EnvironmentError(
      `cannot write the manifests to ${dir} (${code})`,
      'choose another --out, or fix its permissions',
      error,
    )
  }
}

async function writeMarker(dir: string, files: Record<string, string[]>): Promise<void> {
  const marker: Marker = {renderedBy: 'stackctl', files}
  await writeFileAtomic(path.join(dir, MARKER_FILE), JSON.stringify(marker, null, 2) + '\n', 0o644)
}

/** The marker's record; a directory without a valid one holds things stackctl did not write. */
async function readMarker(dir: string, entries: string[]): Promise<Record<string, string[]>> {
  const text = await readOptional(path.join(dir, MARKER_FILE))
  const marker = text === undefined ? undefined : parseMarker(text)
  if (!marker) {
    const shown = entries.filter((entry) => entry !== MARKER_FILE).slice(0, 3)
    throw new UsageError(
      `${dir} is not empty and was not written by stackctl (${text === undefined ? `it holds ${shown.join(', ')}${entries.length > 3 ? ', …' : ''}` : `its ${MARKER_FILE} is not stackctl's`})`,
      'choose a new or empty directory with --out; stackctl writes the manifests into a directory of their own',
    )
  }
  return marker.files
}

const KNOWN = new Set<string>(TEMPLATE_NAMES)

/** Only names stackctl writes are trusted: a marker must never make it touch another file. */
function parseMarker(text: string): Marker | undefined {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  const marker = value as Partial<Marker> | null
  if (marker?.renderedBy !== 'stackctl' || typeof marker.files !== 'object' || marker.files === null) return undefined
  const valid = Object.entries(marker.files).every(
    ([name, hashes]) =>
      KNOWN.has(name) &&
      Array.isArray(hashes) &&
      hashes.every((hash) => typeof hash === 'string' && /^[0-9a-f]{64}$/.test(hash)),
  )
  return valid ? (marker as Marker) : undefined
}
