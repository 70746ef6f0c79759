import {expect} from 'chai'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {hostname, tmpdir} from 'node:os'
import path from 'node:path'

import {StackctlError} from '../../../src/lib/errors.js'
import {lockFile, projectLockFile, withStackLock} from '../../../src/lib/stack/lock.js'

describe('stack lock', () => {
  let root: string
  let dir: string
  let savedStateDir: string | undefined
  const target = (project = 'demo', stackDir = dir) => ({paths: {dir: stackDir}, config: {project}})

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'stackctl-lock-'))
    dir = path.join(root, 'stack')
    mkdirSync(dir)
    savedStateDir = process.env.STACKCTL_STATE_DIR
    process.env.STACKCTL_STATE_DIR = path.join(root, 'state')
  })
  afterEach(() => {
    if (savedStateDir === undefined) delete process.env.STACKCTL_STATE_DIR
    else process.env.STACKCTL_STATE_DIR = savedStateDir
    rmSync(root, {recursive: true, force: true})
  })

  async function refusal(work: Promise<unknown>): Promise<StackctlError> {
    const caught = await work.then(
      () => undefined,
      (error: unknown) => error,
    )
    expect(caught).to.be.instanceOf(StackctlError)
    return caught as StackctlError
  }

  it('holds both locks while the work runs and releases them afterwards', async () => {
    const seen = await withStackLock(target(), 'up', async () => [
      existsSync(lockFile(dir)),
      existsSync(projectLockFile('demo')),
    ])
    expect(seen).to.deep.equal([true, true])
    expect(existsSync(lockFile(dir))).to.equal(false)
    expect(existsSync(projectLockFile('demo'))).to.equal(false)
  })

  it('keys the project lock by the engine endpoint and project', () => {
    const here = projectLockFile('demo', {STACKCTL_STATE_DIR: '/s'})
    expect(projectLockFile('demo', {STACKCTL_STATE_DIR: '/s', DOCKER_HOST: 'tcp://other:2375'})).to.not.equal(here)
    expect(projectLockFile('other', {STACKCTL_STATE_DIR: '/s'})).to.not.equal(here)
    expect(path.basename(here)).to.equal('demo.lock')
  })

  it('makes a second holder fail clearly, naming the first', async () => {
    // A live process of this host (our parent) holds the directory's lock.
    const owner = {pid: process.ppid, command: 'down', host: hostname(), since: '2026-01-01T00:00:00.000Z'}
    writeFileSync(lockFile(dir), JSON.stringify(owner))
    const error = await refusal(withStackLock(target(), 'up', async () => 'ran', {waitMs: 300, pollMs: 50}))
    expect(error.message).to.include(`'stackctl down' (pid ${process.ppid}`)
    expect(error.exitCode).to.equal(2)
    expect(existsSync(lockFile(dir))).to.equal(true) // someone else's lock is left alone
    expect(existsSync(projectLockFile('demo'))).to.equal(false) // and ours released on the way out
  })

  it('locks the project across stack directories: a command from elsewhere waits, then fails', async () => {
    const other = path.join(root, 'other')
    mkdirSync(other)
    let release: () => void = () => {}
    const first = withStackLock(
      target('demo', dir),
      'verify-persistence',
      () => new Promise<void>((r) => (release = r)),
    )
    await new Promise((resolve) => setTimeout(resolve, 30))
    const error = await refusal(
      withStackLock(target('demo', other), 'down', async () => 'ran', {waitMs: 200, pollMs: 25}),
    )
    expect(error.message).to.match(/project 'demo' is busy: 'stackctl verify-persistence'/)
    // Another project is not held up.
    expect(await withStackLock(target('else', other), 'down', async () => 'ran')).to.equal('ran')
    release()
    await first
  })

  it('takes over a stale lock from a dead process', async () => {
    const owner = {pid: 2 ** 22 + 12345, command: 'up', host: hostname(), since: '2026-01-01T00:00:00.000Z'}
    writeFileSync(lockFile(dir), JSON.stringify(owner))
    expect(await withStackLock(target(), 'up', async () => 'ran', {waitMs: 300})).to.equal('ran')
  })

  it('never writes through a symbolic link planted at the lock path', async () => {
    const victim = path.join(root, 'victim')
    writeFileSync(victim, 'untouched')
    symlinkSync(victim, lockFile(dir))
    await refusal(withStackLock(target(), 'up', async () => 'ran', {waitMs: 100, pollMs: 25}))
    expect(readFileSync(victim, 'utf8')).to.equal('untouched')
  })

  it('waits for a lock that is released meanwhile', async () => {
    const first = withStackLock(target(), 'up', () => new Promise((resolve) => setTimeout(() => resolve('first'), 200)))
    await new Promise((resolve) => setTimeout(resolve, 20))
    const second = await withStackLock(target(), 'down', async () => 'second', {waitMs: 2000, pollMs: 25})
    expect(await first).to.equal('first')
    expect(second).to.equal('second')
  })
})
