/**
 * The stack directory on disk: the rendered compose file, the app's build context, the database password
 * and a small state file remembering the settings and a hash of what stackctl last wrote. All writes are
 * atomic (temp file + rename) so an interrupted command never leaves half a file behind.
 */
import {createHash, randomBytes} from 'node:crypto'
import {constants} from 'node:fs'
import {access, chmod, chown, mkdir, readFile, rename, rm, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {EnvironmentError, StackctlError} from '../errors.js'
import type {StackConfigInput} from '../config/stack-config.js'
import {packageRoot} from '../package-root.js'

export interface StackPaths {
  dir: string
  composeFile: string
  /** Optional, the user's own: layered over the rendered file like Compose's own override convention. */
  overrideFile: string
  stateFile: string
  secretsDir: string
  passwordFile: string
  appContext: string
}

export function stackPaths(dir: string): StackPaths {
  return {
    dir,
    composeFile: path.join(dir, 'docker-compose.yml'),
    overrideFile: path.join(dir, 'docker-compose.override.yml'),
    stateFile: path.join(dir, 'stack.json'),
    secretsDir: path.join(dir, 'secrets'),
    passwordFile: path.join(dir, 'secrets', 'db_password'),
    appContext: path.join(dir, 'app'),
  }
}

export interface StackState {
  settings: StackConfigInput & {resolvedImageSource?: 'registry' | 'local'}
  /** sha256 of the docker-compose.yml stackctl wrote last; a different file on disk was edited by hand. */
  composeSha256?: string
  /** sha256 of the password the volume was initialised with: detects a password file swapped afterwards. */
  passwordSha256?: string
}

export const TEMPLATES = {
  compose: path.join(packageRoot, 'templates', 'compose', 'docker-compose.yml'),
  appDockerfile: path.join(packageRoot, 'templates', 'app', 'Dockerfile'),
  apiBundle: path.join(packageRoot, 'dist', 'api', 'server.mjs'),
}

export function sha256(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex')
}

export async function readState(paths: StackPaths): Promise<StackState | undefined> {
  const text = await readOptional(paths.stateFile)
  if (text === undefined) return undefined
  try {
    return JSON.parse(text) as StackState
  } catch {
    throw new StackctlError(`${paths.stateFile} is not valid JSON`, {
      exitCode: 2,
      suggestion: `remove it and run stackctl render again (the data volume is not affected)`,
    })
  }
}

export async function writeState(paths: StackPaths, state: StackState): Promise<void> {
  await writeFileAtomic(paths.stateFile, JSON.stringify(state, null, 2) + '\n', 0o644)
}

export async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw error
  }
}

export async function writeFileAtomic(file: string, content: string | Buffer, mode: number): Promise<void> {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    await writeFile(temp, content, {mode})
    await chmod(temp, mode)
    await rename(temp, file)
  } catch (error) {
    await rm(temp, {force: true})
    throw error
  }
}

/** Creates the stack directory, or explains why it cannot be written. */
export async function ensureStackDir(paths: StackPaths): Promise<void> {
  try {
    await mkdir(paths.dir, {recursive: true})
    await access(paths.dir, constants.W_OK)
  } catch (error) {
    throw stackDirNotWritable(paths.dir, error)
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
 */
export async function ensurePasswordFile(paths: StackPaths, appUid: number, appGid: number): Promise<PasswordFile> {
  await mkdir(paths.secretsDir, {recursive: true, mode: 0o700})
  await chmod(paths.secretsDir, 0o700)
  const existing = await readOptional(paths.passwordFile)
  if (existing !== undefined) {
    // A file restored by hand (say, as root) must still be readable by the API inside its container.
    await chmod(paths.passwordFile, 0o600)
    await chownForApp(paths.passwordFile, appUid, appGid)
    return {created: false, sha256: sha256(existing)}
  }
  const password = randomBytes(32).toString('base64url')
  await writeFileAtomic(paths.passwordFile, password, 0o600)
  await chownForApp(paths.passwordFile, appUid, appGid)
  return {created: true, sha256: sha256(password)}
}

async function chownForApp(file: string, uid: number, gid: number): Promise<void> {
  // Only root can hand the file to another uid; otherwise the API already runs as the invoking user.
  if (process.getuid?.() === 0) await chown(file, uid, gid)
}

/**
 * Copies the app's Dockerfile and the ready API bundle into the build context, and returns a content hash
 * that names the image: a changed bundle or base image means a new tag, hence a rebuild and a recreate.
 */
export async function prepareAppContext(paths: StackPaths, nodeImage: string): Promise<string> {
  const bundle = await readOptional(TEMPLATES.apiBundle)
  if (bundle === undefined) {
    throw new EnvironmentError(
      `the API bundle ${TEMPLATES.apiBundle} is missing`,
      'run npm run build in the stackctl checkout',
    )
  }
  const dockerfile = await readFile(TEMPLATES.appDockerfile, 'utf8')
  await mkdir(paths.appContext, {recursive: true})
  const dockerfileTarget = path.join(paths.appContext, 'Dockerfile')
  const bundleTarget = path.join(paths.appContext, 'server.mjs')
  if ((await readOptional(dockerfileTarget)) !== dockerfile) await writeFileAtomic(dockerfileTarget, dockerfile, 0o644)
  if ((await readOptional(bundleTarget)) !== bundle) await writeFileAtomic(bundleTarget, bundle, 0o644)
  return sha256([dockerfile, bundle, nodeImage].join('\0')).slice(0, 12)
}
