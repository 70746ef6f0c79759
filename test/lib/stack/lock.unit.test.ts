import {expect} from 'chai'
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {hostname, tmpdir} from 'node:os'
import path from 'node:path'

import {StackctlError} from '../../../src/lib/errors.js'
import {lockFile, withStackLock} from '../../../src/lib/stack/lock.js'

describe('stack lock', () => {
  let dir: string
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'stackctl-lock-'))))
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('holds the lock while the work runs and releases it afterwards', async () => {
    const seen = await withStackLock(dir, 'up', async () => existsSync(lockFile(dir)))
    expect(seen).to.equal(true)
    expect(existsSync(lockFile(dir))).to.equal(false)
  })

  it('makes a second holder fail clearly, naming the first', async () => {
    // A live process of this host (our parent) holds the lock.
    const owner = {pid: process.ppid, command: 'down', host: hostname(), since: '2026-01-01T00:00:00.000Z'}
    writeFileSync(lockFile(dir), JSON.stringify(owner))
    let caught: unknown
    try {
      await withStackLock(dir, 'up', async () => 'ran', {waitMs: 300, pollMs: 50})
    } catch (error) {
      caught = error
    }
    expect(caught).to.be.instanceOf(StackctlError)
    expect((caught as StackctlError).message).to.include(`'stackctl down' (pid ${process.ppid}`)
    expect((caught as StackctlError).exitCode).to.equal(2)
    expect(existsSync(lockFile(dir))).to.equal(true) // someone else's lock is left alone
  })

  it('takes over a stale lock from a dead process', async () => {
    const owner = {pid: 2 ** 22 + 12345, command: 'up', host: hostname(), since: '2026-01-01T00:00:00.000Z'}
    writeFileSync(lockFile(dir), JSON.stringify(owner))
    expect(await withStackLock(dir, 'up', async () => 'ran', {waitMs: 300})).to.equal('ran')
  })

  it('waits for a lock that is released meanwhile', async () => {
    const first = withStackLock(dir, 'up', () => new Promise((resolve) => setTimeout(() => resolve('first'), 200)))
    await new Promise((resolve) => setTimeout(resolve, 20))
    const second = await withStackLock(dir, 'down', async () => 'second', {waitMs: 2000, pollMs: 25})
    expect(await first).to.equal('first')
    expect(second).to.equal('second')
  })
})
