/**
 * Development mode's host side: the API's sources come from a working tree, and the toolchain (esbuild,
 * TypeScript, pg and their types) from this checkout's node_modules, all bind-mounted read-only.
 */
import {constants} from 'node:fs'
import {access, readFile} from 'node:fs/promises'
import path from 'node:path'

import type {DevMode} from '../compose/render.js'
import {EnvironmentError, UsageError} from '../errors.js'
import {packageRoot} from '../package-root.js'

export const DEFAULT_DEV_SOURCE = path.join(packageRoot, 'src', 'api')
const TOOLCHAIN = ['esbuild', 'typescript', 'pg', '@types/node', '@types/pg']

export async function devMode(sourceDir: string): Promise<DevMode> {
  const source = path.resolve(sourceDir)
  if (!(await exists(path.join(source, 'main.ts')))) {
    throw new UsageError(
      `${source} does not look like the API's sources (no main.ts)`,
      `point --dev-source at a copy of src/api`,
    )
  }
  const toolchainDir = path.join(packageRoot, 'node_modules')
  for (const name of TOOLCHAIN) {
    if (!(await exists(path.join(toolchainDir, name, 'package.json')))) {
      throw new EnvironmentError(
        `development mode needs ${name}, which is not installed in ${toolchainDir}`,
        'run npm ci (with dev dependencies) in the stackctl checkout',
      )
    }
  }
  return {
    overlayText: await readFile(path.join(packageRoot, 'templates', 'compose', 'app-dev.yml'), 'utf8'),
    sourceDir: source,
    toolchainDir,
    runnerDir: path.join(packageRoot, 'templates', 'dev'),
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file, constants.R_OK)
    return true
  } catch {
    return false
  }
}
