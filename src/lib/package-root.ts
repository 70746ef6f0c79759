import {existsSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

/**
 * The installed package's root (holds templates/ and dist/): the nearest folder above this module with both
 * package.json and templates/. This module runs from src/lib under tsx, from dist/lib, and from the CLI bundle
 * (dist/cli/main.cjs, scripts/bundle-cli.mjs, whose loader passes the bundle's URL as import.meta.url), so no
 * fixed number of `..` fits all.
 */
export function findPackageRoot(moduleUrl: string): string {
  const start = dirname(fileURLToPath(moduleUrl))
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'templates'))) return `${dir}/`
    if (dirname(dir) === dir)
      throw new Error(`stackctl's package root (package.json and templates/) is not above ${start}`)
  }
}

export const packageRoot = findPackageRoot(import.meta.url)
