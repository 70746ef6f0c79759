/**
 * Development mode's host side: the API's sources come from a working tree, and the toolchain (esbuild,
 * TypeScript, pg and their types) from this checkout's node_modules, all bind-mounted read-only.
 */
import {constants} from 'node:fs'
import {access, readFile} from 'node:fs/promises'
import path from 'node:path'

import type {DevMode} from './render.js'
import {EnvironmentError, UsageError} from '../../errors.js'
import {packageRoot} from '../../package-root.js'

export const DEFAULT_DEV_SOURCE = path.join(packageRoot, 'src', 'api')
const TOOLCHAIN = ['esbuild', 'typescript', 'pg', '@types/node', '@types/pg']

export async function devMode(sourceDir: string, root = packageRoot): Promise<DevMode> {
  const toolchainDir = await devToolchain(root)
  const source = path.resolve(sourceDir)
  if (!(await exists(path.join(source, 'main.ts')))) {
    throw new UsageError(
      `${source} does not look like the API's sources (no main.ts)`,
      `point --dev-source at a copy of src/api`,
    )
  }
  return {
    overlayText: await readFile(path.join(root, 'templates', 'compose', 'app-dev.yml'), 'utf8'),
    sourceDir: source,
    toolchainDir,
    runnerDir: path.join(root, 'templates', 'dev'),
  }
}

/**
 * The API's build toolchain in `root`'s node_modules (dev dependencies), checked before anything is written.
 * An installed package has neither them nor src/api: development mode is a checkout's feature, said in one line.
 */
export async function devToolchain(root = packageRoot): Promise<string> {
  const toolchainDir = path.join(root, 'node_modules')
  const missing: string[] = []
  for (const name of TOOLCHAIN) if (!(await exists(path.join(toolchainDir, name, 'package.json')))) missing.push(name)
  if (missing.length === 0) return toolchainDir
  if (!(await exists(path.join(root, 'src', 'api', 'main.ts')))) {
    throw new EnvironmentError(
      `up --dev needs a stackctl checkout (the API's sources and its dev toolchain); ${path.resolve(root)} is an installed package`,
      'run up --dev from a git checkout of stackctl after npm ci there (./bin/run.js up --dev); stackctl up runs the built API',
    )
  }
  throw new EnvironmentError(
    `development mode needs ${missing.join(', ')}, not installed in ${toolchainDir}`,
    `run npm ci (with dev dependencies) in ${root}`,
  )
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file, constants.R_OK)
    return true
  } catch {
    return false
  }
}
