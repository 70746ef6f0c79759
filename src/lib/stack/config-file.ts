/**
 * `stackctl.yaml` in the project directory (the one holding the stack directory, ./ by default): the stack's
 * settings as the user declares them, e.g. `port: 8080` and `pg-major: 15`. Flags and environment variables
 * override it; it overrides what stack.json remembers (stackctl's own state). Keys are the flags' names.
 * Anything it cannot use stops the command before anything is done: one line with the file and the key.
 */
import {readFile} from 'node:fs/promises'
import path from 'node:path'

import {isMap, parseDocument} from 'yaml'

import {editDistance} from '../cli/suggest.js'
import {StackctlError, UsageError} from '../errors.js'
import {resolveStackConfig, type StackConfigInput} from '../model/config/stack-config.js'

export const CONFIG_FILE = 'stackctl.yaml'

/** Each key and the setting it gives. */
const KEYS = {
  project: 'project',
  host: 'host',
  port: 'port',
  'db-port': 'dbPort',
  'pg-major': 'pgMajor',
  'image-source': 'imageSource',
  'dev-source': 'devSource',
} as const
type Key = keyof typeof KEYS

export interface ConfigFile {
  path: string
  /** The keys the file sets, as written. */
  keys: string[]
  settings: StackConfigInput
  /** up --dev's API sources, resolved against the project directory. */
  devSource?: string
}

/** Where a stack directory's config file is: next to it. */
export function configFilePath(stackDir: string): string {
  return path.join(path.dirname(stackDir), CONFIG_FILE)
}

/** The file next to the stack directory, or undefined when there is none. */
export async function readConfigFile(stackDir: string): Promise<ConfigFile | undefined> {
  const file = configFilePath(stackDir)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    // No file, or no folder to hold one (--dir under a regular file: the stack directory's own check says so).
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`, `fix or remove ${file}`)
  }
  return parseConfigFile(file, text)
}

/** Pure: the file's settings, each checked as its flag would be. */
export function parseConfigFile(file: string, text: string): ConfigFile {
  const document = parseDocument(text)
  if (document.errors.length > 0) {
    throw new UsageError(`${file} is not valid YAML: ${document.errors[0].message.split('\n')[0]}`, `fix ${file}`)
  }
  const found: ConfigFile = {path: file, keys: [], settings: {}}
  if (document.contents === null) return found
  if (!isMap(document.contents)) {
    throw new UsageError(`${file} must be a mapping of settings (key: value)`, `e.g. 'port: 8080' in ${file}`)
  }
  const raw = document.toJS() as Record<string, unknown>
  for (const [key, value] of Object.entries(raw)) {
    if (!(key in KEYS)) {
      const closest = Object.keys(KEYS).sort((a, b) => editDistance(key, a) - editDistance(key, b))[0]
      const hint = editDistance(key, closest) <= 2 ? `did you mean '${closest}'? ` : ''
      throw new UsageError(
        `${file}: unknown key '${key}'`,
        `${hint}the keys are ${Object.keys(KEYS).join(', ')}; nothing was done`,
      )
    }
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new UsageError(
        `${file}: ${key} must be a single value, not ${JSON.stringify(value)}`,
        `fix ${key} in ${file}`,
      )
    }
    found.keys.push(key)
    const setting = KEYS[key as Key]
    if (setting === 'devSource') {
      found.devSource = path.resolve(path.dirname(file), String(value))
      continue
    }
    ;(found.settings as Record<string, string | number>)[setting] = value
    try {
      resolveStackConfig({[setting]: value}, {}) // the flag's own check of the value
    } catch (error) {
      if (!(error instanceof StackctlError)) throw error
      throw new UsageError(`${file}: ${key}: ${error.message}`, `fix ${key} in ${file}; nothing was done`)
    }
  }
  return found
}
