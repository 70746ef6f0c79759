/**
 * The stack directory on disk: the rendered compose file, the app's build context, the database password
 * and a small state file remembering the settings and a hash of what stackctl last wrote. All writes are
 * atomic (temp file + rename) so an interrupted command never leaves half a file behind.
 */
import {randomBytes} from 'node:crypto'
import {constants} from 'node:fs'
import {access, open, readdir, readFile} from 'node:fs/promises'
import path from 'node:path'

import {EnvironmentError, StackctlError, UsageError} from '../../errors.js'
import {DB_SECRET, type StackConfigInput} from '../config/stack-config.js'
import {
  ensureChildDirectory,
  ensureRealDirectory,
  lstatOptional,
  readOptional,
  sha256,
  UnsafePath,
  writeFileAtomic,
} from './files.js'
import {packageRoot} from '../../package-root.js'

export {readOptional, sha256, writeFileAtomic}

export interface StackPaths {
  dir: string
  composeFile: string
  /** Optional, the user's own: layered over the rendered file like Compose's own override convention. */
  overrideFile: string
  stateFile: string
  secretsDir: string
  passwordFile: string
  appContext: string
  /** A memo of Compose's config hashes for the last rendered file (see targets/compose/up-to-date.ts); safe to delete. */
  composeHashesFile: string
}

export function stackPaths(dir: string): StackPaths {
  return {
    dir,
    composeFile: path.join(dir, 'docker-compose.yml'),
    overrideFile: path.join(dir, 'docker-compose.override.yml'),
    stateFile: path.join(dir, 'stack.json'),
    secretsDir: path.dirname(path.join(dir, DB_SECRET.file)),
    passwordFile: path.join(dir, DB_SECRET.file),
    appContext: path.join(dir, 'app'),
    composeHashesFile: path.join(dir, 'compose-hashes.json'),
  }
}

export interface StackState {
  /** Random and fixed at the first render; every container, network and volume of the stack carries it. */
  stackId: string
  settings: StackConfigInput & {resolvedImageSource?: 'registry' | 'local'}
  /** sha256 of the docker-compose.yml stackctl wrote last; a different file on disk was edited by hand. */
  composeSha256?: string
  /** sha256 of the password the volume was initialised with: detects a password file swapped afterwards. */
  passwordSha256?: string
  /** What --adopt took over: a volume stackctl did not create, other stacks' containers (until recreated). */
  adopted?: Adopted
  /**
   * Data volumes the stack ran on before `db upgrade` (or `db rollback`) switched it to another one. Kept until
   * `db prune-old` removes them; a volume's labels cannot change after its creation, so this is their record.
   */
  superseded?: SupersededVolume[]
  /** Every switch of the active volume, oldest first. */
  switches?: VolumeSwitch[]
  /** The volume an upgrade under way is filling: a run that was killed leaves it, and the next one removes it. */
  pendingUpgrade?: {volume: string}
}

/** The superseded volumes as `status` and `volume inspect` show them: whether each still exists. */
export interface SupersededReport extends SupersededVolume {
  exists: boolean
}

export interface SupersededVolume {
  volume: string
  pgMajor: number
  supersededBy: string
  /** ISO time of the switch. */
  at: string
}

export interface VolumeSwitch {
  kind: 'upgrade' | 'rollback'
  from: {volume: string; pgMajor: number}
  to: {volume: string; pgMajor: number}
  at: string
  /** Visits in the data switched to, right after the switch (and its own check visit): rollback compares. */
  visitsAtSwitch: number
  /** The backup taken before an upgrade. */
  backup?: string
  /** An upgrade's highest copied visit id: the visits above it were written after the switch. */
  copiedMaxVisitId?: number
  /** The visit an upgrade's API check recorded (stackctl's own, not a user's). */
  checkVisitId?: number
}

export interface Adopted {
  volume?: string
  /** Stack ids of adopted stackctl containers (a re-attached directory's own, under its lost id). */
  stackIds?: string[]
  /** Adopted containers that carry no stackctl labels at all. */
  containerIds?: string[]
  /** An adopted `<project>_backups` volume that holds the WAL archive (see operations/protect/archive.ts). */
  backups?: string
}

export function newStackId(): string {
  return randomBytes(8).toString('hex')
}

export const TEMPLATES = {
  compose: path.join(packageRoot, 'templates', 'compose', 'docker-compose.yml'),
  appDockerfile: path.join(packageRoot, 'templates', 'app', 'Dockerfile'),
  apiBundle: path.join(packageRoot, 'dist', 'api', 'server.mjs'),
}

/** Why a stack directory's state cannot be used; undefined when stack.json is fine or absent. */
export class StackStateUnreadable extends StackctlError {
  constructor(file: string, what: string, project?: string) {
    super(`${file} ${what}, so stackctl cannot tell which stack this directory belongs to`, {
      exitCode: 2,
      suggestion: `nothing was changed; restore stack.json from a backup, or re-attach the directory to its stack: stackctl render --dir ${path.dirname(file)} --project-name ${project ?? 'NAME'} --adopt`,
    })
  }
}

export async function readState(paths: StackPaths): Promise<StackState | undefined> {
  let text: string | undefined
  try {
    text = await readOptional(paths.stateFile)
  } catch (error) {
    if (error instanceof UnsafePath) throw new StackStateUnreadable(paths.stateFile, 'is not a regular file')
    throw error
  }
  if (text === undefined) return undefined
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new StackStateUnreadable(paths.stateFile, 'is not valid JSON')
  }
  return validateState(paths.stateFile, value)
}

/** Only a well-formed state is trusted: a wrong type anywhere is a broken file, not a default. */
export function validateState(file: string, value: unknown): StackState {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new StackStateUnreadable(
      file,
      `holds ${value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value} instead of the stack's settings`,
    )
  }
  const state = value as Partial<StackState>
  if (typeof state.stackId !== 'string' || !/^[0-9a-f]{16}$/.test(state.stackId)) {
    throw new StackStateUnreadable(file, 'has no valid stack id (written by an older stackctl, or edited)')
  }
  const settings = state.settings as unknown
  if (settings === null || typeof settings !== 'object' || Array.isArray(settings)) {
    throw new StackStateUnreadable(file, 'has no settings')
  }
  const project = (settings as StackConfigInput).project
  if (typeof project !== 'string' || project === '') throw new StackStateUnreadable(file, 'names no project')
  for (const key of ['superseded', 'switches'] as const) {
    if (state[key] !== undefined && !Array.isArray(state[key]))
      throw new StackStateUnreadable(file, `has a broken ${key} list`)
  }
  if (!(state.superseded ?? []).every(isSuperseded))
    throw new StackStateUnreadable(file, 'has a broken superseded entry')
  return state as StackState
}

function isSuperseded(value: unknown): value is SupersededVolume {
  const entry = value as Partial<SupersededVolume> | null
  return (
    entry !== null &&
    typeof entry === 'object' &&
    typeof entry.volume === 'string' &&
    typeof entry.pgMajor === 'number' &&
    typeof entry.supersededBy === 'string' &&
    typeof entry.at === 'string'
  )
}

export async function writeState(paths: StackPaths, state: StackState): Promise<void> {
  await writeFileAtomic(paths.stateFile, JSON.stringify(state, null, 2) + '\n', 0o644)
}

/** Entries stackctl itself puts in a stack directory. */
const STACK_ENTRIES = new Set([
  'stack.json',
  'docker-compose.yml',
  'docker-compose.override.yml',
  'secrets',
  'app',
  'backups',
  'kubernetes',
  'stackctl.lock',
])

/** Names the stack files present (besides stack.json) — a directory holding any belongs to some stack. */
export async function stackFilesPresent(paths: StackPaths): Promise<string[]> {
  const found: string[] = []
  for (const name of ['docker-compose.yml', 'secrets', 'app']) {
    if (await lstatOptional(path.join(paths.dir, name))) found.push(name)
  }
  return found
}

/** The project a rendered compose file names (`name:`), to help re-attach a directory that lost its state. */
export async function composeProjectName(paths: StackPaths): Promise<string | undefined> {
  const text = await readOptional(paths.composeFile).catch(() => undefined)
  return text === undefined ? undefined : /^name:\s*([a-z0-9][a-z0-9_-]*)\s*$/m.exec(text)?.[1]
}

/** System locations that are never a stack directory, whatever the permissions say. */
const SYSTEM_ROOTS = ['/proc', '/sys', '/dev', '/boot', '/etc', '/bin', '/sbin', '/lib', '/lib64', '/usr']

export function assertStackDirLocation(dir: string): void {
  const resolved = path.resolve(dir)
  const system = SYSTEM_ROOTS.find((root) => resolved === root || resolved.startsWith(`${root}/`))
  if (resolved === path.parse(resolved).root || system) {
    throw new UsageError(
      `${resolved} cannot be a stack directory: it is ${system ? `inside the system location ${system}` : 'the filesystem root'}`,
      'choose a directory of its own with --dir, e.g. --dir ./.stackctl',
    )
  }
}

/**
 * Creates the stack directory, or explains why it cannot be one: a system location, a symbolic link, an
 * unwritable path, or a directory that already holds other things (stackctl would scatter its files there).
 */
export async function ensureStackDir(paths: StackPaths): Promise<void> {
  assertStackDirLocation(paths.dir)
  try {
    await ensureRealDirectory(paths.dir)
    await access(paths.dir, constants.W_OK)
  } catch (error) {
    if (error instanceof StackctlError) throw error
    throw stackDirNotWritable(paths.dir, error)
  }
  const entries = await readdir(paths.dir)
  if (entries.includes('stack.json')) return
  const foreign = entries.filter((entry) => !STACK_ENTRIES.has(entry) && !entry.endsWith('.tmp'))
  if (foreign.length > 0) {
    throw new UsageError(
      `${paths.dir} is not empty and is not a stackctl stack directory (it holds ${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''})`,
      'choose a new or empty directory with --dir; stackctl keeps its files in a directory of their own',
    )
  }
}

export function stackDirNotWritable(dir: string, error: unknown): EnvironmentError {
  return new EnvironmentError(
    `the stack directory ${dir} is not writable (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    'choose another with --dir or STACKCTL_DIR, or fix its permissions',
    error,
  )
}

export type ComposeFileStatus = 'missing' | 'unchanged' | 'different' | 'edited'

/** Compares the compose file on disk with what stackctl wrote last and with what it would write now. */
export async function composeFileStatus(paths: StackPaths, state: StackState | undefined, rendered: string) {
  const onDisk = await readOptional(paths.composeFile)
  if (onDisk === undefined) return 'missing'
  if (onDisk === rendered) return 'unchanged'
  if (state?.composeSha256 && sha256(onDisk) !== state.composeSha256) return 'edited'
  return 'different'
}

export async function writeComposeFile(paths: StackPaths, rendered: string): Promise<void> {
  await writeFileAtomic(paths.composeFile, rendered, 0o644)
}

export interface PasswordFile {
  created: boolean
  sha256: string
}

/**
 * Generates the database password once, mode 0600. The file is handed to the containers as a Compose
 * secret (a read-only bind mount), so its owner must be able to read it inside: the API runs as `appUid`.
 * A password file that is a link, not a regular file, or owned by somebody else is refused, never "fixed".
 */
export async function ensurePasswordFile(paths: StackPaths, appUid: number, appGid: number): Promise<PasswordFile> {
  await ensureChildDirectory(paths.secretsDir, 0o700)
  const info = await lstatOptional(paths.passwordFile)
  if (!info) {
    const password = randomBytes(32).toString('base64url')
    await writeFileAtomic(paths.passwordFile, password, 0o600)
    await handOver(paths.passwordFile, appUid, appGid)
    return {created: true, sha256: sha256(password)}
  }
  if (info.isSymbolicLink()) throw new UnsafePath(paths.passwordFile, 'it is a symbolic link')
  if (!info.isFile()) throw new UnsafePath(paths.passwordFile, 'it is not a regular file')
  const owners = new Set([appUid, process.getuid?.() ?? appUid])
  if (!owners.has(info.uid)) {
    throw new StackctlError(
      `refusing to use ${paths.passwordFile}: it is owned by uid ${info.uid}, expected ${[...owners].join(' or ')}`,
      {exitCode: 2, suggestion: `check where the file came from; if it is the stack's password, chown it to ${appUid}`},
    )
  }
  const existing = await handOver(paths.passwordFile, appUid, appGid)
  if (existing.replace(/[\r\n]+$/, '') === '') {
    throw new StackctlError(`the password file ${paths.passwordFile} is empty`, {
      exitCode: 2,
      suggestion: 'restore the stack’s original secrets/db_password (the database was initialised with it)',
    })
  }
  return {created: false, sha256: sha256(existing)}
}

/**
 * Makes the file 0600 and, as root, the API's — through a descriptor opened without following links, so the
 * change lands on this very file — and returns its content.
 */
async function handOver(file: string, uid: number, gid: number): Promise<string> {
  let handle
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw new UnsafePath(file, 'it is a symbolic link')
    throw error
  }
  try {
    if (!(await handle.stat()).isFile()) throw new UnsafePath(file, 'it is not a regular file')
    await handle.chmod(0o600)
    // Only root can hand the file to another uid; otherwise the API already runs as the invoking user.
    if (process.getuid?.() === 0) await handle.chown(uid, gid)
    return await handle.readFile('utf8')
  } finally {
    await handle.close()
  }
}

/**
 * Copies the app's Dockerfile and the ready API bundle into the build context, and returns a content hash
 * that names the image: a changed bundle or base image means a new tag, hence a rebuild and a recreate.
 */
export async function prepareAppContext(paths: StackPaths, nodeImage: string): Promise<string> {
  const {dockerfile, bundle, tag} = await appContext(nodeImage)
  await ensureChildDirectory(paths.appContext, 0o755)
  const dockerfileTarget = path.join(paths.appContext, 'Dockerfile')
  const bundleTarget = path.join(paths.appContext, 'server.mjs')
  if ((await readOptional(dockerfileTarget)) !== dockerfile) await writeFileAtomic(dockerfileTarget, dockerfile, 0o644)
  if ((await readOptional(bundleTarget)) !== bundle) await writeFileAtomic(bundleTarget, bundle, 0o644)
  return tag
}

/** The API image's build context and its tag (a hash of what goes into it), without writing anything. */
export async function appContext(nodeImage: string): Promise<{dockerfile: string; bundle: string; tag: string}> {
  const bundle = await readOptional(TEMPLATES.apiBundle)
  if (bundle === undefined) {
    throw new EnvironmentError(
      `the API bundle ${TEMPLATES.apiBundle} is missing`,
      'run npm run build in the stackctl checkout',
    )
  }
  const dockerfile = await readFile(TEMPLATES.appDockerfile, 'utf8')
  return {dockerfile, bundle, tag: sha256([dockerfile, bundle, nodeImage].join('\0')).slice(0, 12)}
}
