import {expect} from 'chai'
import {existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {
  ensureChildDirectory,
  ensureRealDirectory,
  readOptional,
  UnsafePath,
  writeFileAtomic,
} from '../../../../src/lib/model/stackdir/files.js'

async function rejection(work: Promise<unknown>): Promise<unknown> {
  return work.then(
    () => 'resolved',
    (error: unknown) => error,
  )
}

describe('files that stackctl writes', () => {
  let root: string
  beforeEach(() => (root = mkdtempSync(path.join(tmpdir(), 'stackctl-files-'))))
  afterEach(() => rmSync(root, {recursive: true, force: true}))

  it('writes atomically and replaces a regular file', async () => {
    const file = path.join(root, 'f')
    writeFileSync(file, 'old')
    await writeFileAtomic(file, 'new', 0o600)
    expect(readFileSync(file, 'utf8')).to.equal('new')
    expect(lstatSync(file).mode & 0o777).to.equal(0o600)
  })

  it('refuses to write where a symbolic link stands, leaving its target alone', async () => {
    const target = path.join(root, 'target')
    writeFileSync(target, 'precious')
    const link = path.join(root, 'link')
    symlinkSync(target, link)
    expect(await rejection(writeFileAtomic(link, 'x', 0o600))).to.be.instanceOf(UnsafePath)
    expect(readFileSync(target, 'utf8')).to.equal('precious')
    expect(lstatSync(link).isSymbolicLink()).to.equal(true)
  })

  it('reads through no link: a linked file is refused, a missing one is undefined', async () => {
    const target = path.join(root, 'target')
    writeFileSync(target, 'secret')
    symlinkSync(target, path.join(root, 'link'))
    expect(await rejection(readOptional(path.join(root, 'link')))).to.be.instanceOf(UnsafePath)
    expect(await readOptional(path.join(root, 'nothing'))).to.equal(undefined)
    expect(await readOptional(target)).to.equal('secret')
  })

  it('creates missing parents one by one and fails fast where nothing can be created (/proc)', async () => {
    await ensureRealDirectory(path.join(root, 'a', 'b', 'c'))
    expect(lstatSync(path.join(root, 'a', 'b', 'c')).isDirectory()).to.equal(true)
    const started = Date.now()
    const error = await rejection(ensureRealDirectory('/proc/stackctl-test/x'))
    expect(error).to.be.instanceOf(Error)
    expect(Date.now() - started).to.be.lessThan(2000) // Node's recursive mkdir spins here forever
    expect(existsSync('/proc/stackctl-test')).to.equal(false)
  })

  it('refuses a directory that is a link or a file', async () => {
    mkdirSync(path.join(root, 'real'))
    symlinkSync(path.join(root, 'real'), path.join(root, 'linked'))
    writeFileSync(path.join(root, 'file'), '')
    expect(await rejection(ensureRealDirectory(path.join(root, 'linked')))).to.be.instanceOf(UnsafePath)
    expect(await rejection(ensureRealDirectory(path.join(root, 'file')))).to.be.instanceOf(UnsafePath)
    expect(await rejection(ensureChildDirectory(path.join(root, 'linked'), 0o700))).to.be.instanceOf(UnsafePath)
    expect(lstatSync(path.join(root, 'real')).mode & 0o777).to.not.equal(0o700)
  })
})
