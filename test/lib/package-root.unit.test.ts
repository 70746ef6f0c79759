import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

import {expect} from 'chai'

import {findPackageRoot, packageRoot} from '../../src/lib/package-root.js'

describe('package root', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'stackctl-root-'))
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('is the nearest folder with package.json and templates/, from any depth (src/lib, dist/lib/cli, dist/cli)', () => {
    writeFileSync(join(dir, 'package.json'), '{}')
    mkdirSync(join(dir, 'templates'))
    for (const nested of ['src/lib', 'dist/lib/cli', 'dist/cli']) {
      mkdirSync(join(dir, nested), {recursive: true})
      expect(findPackageRoot(pathToFileURL(join(dir, nested, 'module.js')).href), nested).to.equal(`${dir}/`)
    }
  })

  it('skips a folder with package.json but no templates/ (a package inside node_modules, say)', () => {
    writeFileSync(join(dir, 'package.json'), '{}')
    mkdirSync(join(dir, 'templates'))
    mkdirSync(join(dir, 'node_modules/x/lib'), {recursive: true})
    writeFileSync(join(dir, 'node_modules/x/package.json'), '{}')
    expect(findPackageRoot(pathToFileURL(join(dir, 'node_modules/x/lib/m.js')).href)).to.equal(`${dir}/`)
  })

  it('fails, naming where it looked, when there is none', () => {
    expect(() => findPackageRoot(pathToFileURL(join(dir, 'm.js')).href)).to.throw(/package root .* not above/)
  })

  it('is this checkout for the running code', () => {
    expect(packageRoot).to.equal(`${join(import.meta.dirname, '..', '..')}/`)
  })
})
