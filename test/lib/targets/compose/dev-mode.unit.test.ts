/**
 * Development mode needs a checkout: the API's sources and the dev toolchain. An installed package has
 * neither, and says so in one line instead of failing on a path it never had.
 */
import {expect} from 'chai'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {EnvironmentError} from '../../../../src/lib/errors.js'
import {devMode, devToolchain} from '../../../../src/lib/targets/compose/dev-mode.js'
import {packageRoot} from '../../../../src/lib/package-root.js'
import {rejection} from '../../../support/rejection.js'

describe('development mode (dev-mode)', () => {
  const roots: string[] = []
  function fakeRoot(files: string[]): string {
    const root = mkdtempSync(path.join(tmpdir(), 'stackctl-devroot-'))
    roots.push(root)
    for (const file of files) {
      mkdirSync(path.dirname(path.join(root, file)), {recursive: true})
      writeFileSync(path.join(root, file), '{}')
    }
    return root
  }
  after(() => {
    for (const root of roots) rmSync(root, {recursive: true, force: true})
  })

  it('an installed package (no src/api, no toolchain) explains that --dev needs a checkout', async () => {
    const root = fakeRoot(['dist/api/server.mjs', 'node_modules/pg/package.json'])
    const error = await rejection(devToolchain(root), EnvironmentError)
    expect(error.message).to.equal(
      `up --dev needs a stackctl checkout (the API's sources and its dev toolchain); ${root} is an installed package`,
    )
    expect(error.suggestion).to.match(/git checkout of stackctl after npm ci/)
  })

  it('a checkout without its dev dependencies names what is missing and where to run npm ci', async () => {
    const root = fakeRoot(['src/api/main.ts', 'node_modules/pg/package.json'])
    const error = await rejection(devMode(path.join(root, 'src', 'api'), root), EnvironmentError)
    expect(error.message).to.match(/needs esbuild, typescript, @types\/node, @types\/pg, not installed/)
    expect(error.suggestion).to.equal(`run npm ci (with dev dependencies) in ${root}`)
  })

  it('this checkout has what development mode needs (the control)', async () => {
    const mode = await devMode(path.join(packageRoot, 'src', 'api'))
    expect(mode.sourceDir).to.equal(path.join(packageRoot, 'src', 'api'))
    expect(mode.toolchainDir).to.equal(path.join(packageRoot, 'node_modules'))
  })
})
