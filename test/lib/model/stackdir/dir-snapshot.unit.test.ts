/** A refused command leaves the stack directory as it found it: what it wrote goes, what was there comes back. */
import {expect} from 'chai'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {restoreStackDir, snapshotStackDir} from '../../../../src/lib/model/stackdir/dir-snapshot.js'
import {stackPaths} from '../../../../src/lib/model/stackdir/stack-files.js'

describe('stack directory snapshot', () => {
  let root: string
  beforeEach(() => (root = mkdtempSync(path.join(tmpdir(), 'stackctl-snap-'))))
  afterEach(() => rmSync(root, {recursive: true, force: true}))

  function write(paths: ReturnType<typeof stackPaths>): void {
    mkdirSync(paths.appContext, {recursive: true})
    mkdirSync(paths.secretsDir, {recursive: true})
    writeFileSync(path.join(paths.appContext, 'Dockerfile'), 'FROM x')
    writeFileSync(paths.passwordFile, 'generated', {mode: 0o600})
    writeFileSync(paths.stateFile, '{"new": true}')
  }

  it('removes a directory it created, with only what stackctl writes in it', async () => {
    const paths = stackPaths(path.join(root, 'stack'))
    const snapshot = await snapshotStackDir(paths)
    write(paths)
    await restoreStackDir(snapshot)
    expect(existsSync(paths.dir)).to.equal(false)
  })

  it('puts back files that were there and keeps what it did not write (negative control)', async () => {
    const paths = stackPaths(path.join(root, 'stack'))
    mkdirSync(paths.secretsDir, {recursive: true})
    writeFileSync(paths.passwordFile, 'the users own', {mode: 0o600})
    writeFileSync(paths.stateFile, '{"old": true}')
    const snapshot = await snapshotStackDir(paths)
    write(paths)
    writeFileSync(path.join(paths.dir, 'notes.txt'), 'mine')
    await restoreStackDir(snapshot)
    expect(readdirSync(paths.dir).sort()).to.deep.equal(['notes.txt', 'secrets', 'stack.json'])
    expect(readFileSync(paths.passwordFile, 'utf8')).to.equal('the users own')
    expect(readFileSync(paths.stateFile, 'utf8')).to.equal('{"old": true}')
  })
})
