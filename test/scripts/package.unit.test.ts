/**
 * What `npm pack` ships (read with --ignore-scripts from the built tree `npm test` leaves): everything an
 * installed stackctl reads at run time, nothing that only a checkout can use.
 */
import {expect} from 'chai'
import {execFileSync} from 'node:child_process'
import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'

import {repoRoot} from '../helpers/cli.js'

interface PackEntry {
  files: Array<{path: string}>
}

describe('the npm package (npm pack)', function () {
  this.timeout(60_000)
  let files: string[]

  before(() => {
    const json = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: repoRoot,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    files = (JSON.parse(json) as PackEntry[])[0].files.map((file) => file.path)
  })

  it('is publishable: not private, with a license file that matches its license field', () => {
    const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as Record<string, unknown>
    expect(manifest.private).to.equal(undefined)
    expect(manifest.license).to.equal('MIT')
    expect(files).to.include('LICENSE')
    expect(readFileSync(path.join(repoRoot, 'LICENSE'), 'utf8')).to.match(/^MIT License/)
  })

  it('ships the CLI, its manifest, the root help snapshot, the API bundle, every template and every JSON schema', () => {
    for (const file of [
      'bin/run.js',
      'oclif.manifest.json',
      'dist/lib/cli/fast-start.js',
      'dist/root-help/index.json',
      'dist/root-help/80.txt',
      'dist/api/server.mjs',
      'dist/commands/up.js',
      'README.md',
    ]) {
      expect(files, file).to.include(file)
    }
    const templates = (dir: string): string[] =>
      readdirSync(path.join(repoRoot, dir), {withFileTypes: true}).flatMap((entry) =>
        entry.isDirectory() ? templates(path.join(dir, entry.name)) : [path.join(dir, entry.name)],
      )
    for (const file of [...templates('templates'), ...templates('schemas')]) expect(files, file).to.include(file)
  })

  it('leaves out what needs a checkout or is build state: bin/dev.js (tsx), sources, tests, tsbuildinfo', () => {
    const unwanted = files.filter(
      (file) => file === 'bin/dev.js' || /^(src|test|bench|scripts)\//.test(file) || file.endsWith('.tsbuildinfo'),
    )
    expect(unwanted).to.deep.equal([])
  })
})
