import {expect} from 'chai'
import {chownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {
  ensurePasswordFile,
  ensureStackDir,
  readState,
  stackPaths,
  StackStateUnreadable,
} from '../../../../src/lib/model/stackdir/stack-files.js'
import {StackctlError, UsageError} from '../../../../src/lib/errors.js'

async function rejection(work: Promise<unknown>): Promise<unknown> {
  return work.then(
    () => 'resolved',
    (error: unknown) => error,
  )
}

describe('the stack directory on disk', () => {
  let root: string
  beforeEach(() => (root = mkdtempSync(path.join(tmpdir(), 'stackctl-stackfiles-'))))
  afterEach(() => rmSync(root, {recursive: true, force: true}))

  describe('stack.json', () => {
    const valid = {stackId: '0123456789abcdef', settings: {project: 'demo'}}

    it('reads a well-formed state and answers undefined when there is none', async () => {
      const paths = stackPaths(root)
      expect(await readState(paths)).to.equal(undefined)
      writeFileSync(paths.stateFile, JSON.stringify(valid))
      expect(await readState(paths)).to.deep.equal(valid)
    })

    for (const [what, text] of [
      ['null', 'null'],
      ['a string', '"stackctl"'],
      ['a list', '[]'],
      ['not JSON', '{'],
      ['without a stack id (older stackctl)', JSON.stringify({settings: {project: 'demo'}})],
      ['without a project', JSON.stringify({stackId: '0123456789abcdef', settings: {}})],
      ['with settings of the wrong type', JSON.stringify({stackId: '0123456789abcdef', settings: 'x'})],
    ] as const) {
      it(`refuses a state that is ${what}, never falling back to defaults`, async () => {
        const paths = stackPaths(root)
        writeFileSync(paths.stateFile, text)
        const error = await rejection(readState(paths))
        expect(error).to.be.instanceOf(StackStateUnreadable)
        expect((error as StackctlError).exitCode).to.equal(2)
        expect((error as StackctlError).suggestion).to.include('--adopt')
      })
    }

    it('refuses a state file that is a symbolic link', async () => {
      const paths = stackPaths(root)
      writeFileSync(path.join(root, 'elsewhere.json'), JSON.stringify(valid))
      symlinkSync(path.join(root, 'elsewhere.json'), paths.stateFile)
      expect(await rejection(readState(paths))).to.be.instanceOf(StackStateUnreadable)
    })
  })

  describe('where a stack directory may be', () => {
    for (const dir of ['/', '/proc/x', '/etc/stackctl', '/usr']) {
      it(`refuses ${dir}`, async () => {
        const error = await rejection(ensureStackDir(stackPaths(dir)))
        expect(error).to.be.instanceOf(UsageError)
        expect((error as UsageError).message).to.include('cannot be a stack directory')
      })
    }

    it('refuses a directory that already holds other things, and accepts an empty or a stack one', async () => {
      writeFileSync(path.join(root, 'notes.txt'), 'mine')
      const error = await rejection(ensureStackDir(stackPaths(root)))
      expect(error).to.be.instanceOf(UsageError)
      expect((error as UsageError).message).to.include('is not a stackctl stack directory (it holds notes.txt)')
      const empty = path.join(root, 'empty')
      mkdirSync(empty)
      await ensureStackDir(stackPaths(empty))
      writeFileSync(path.join(root, 'stack.json'), '{}')
      await ensureStackDir(stackPaths(root)) // a stack directory may hold the user's own notes too
    })
  })

  describe('the password file', () => {
    it('is generated once, 0600', async () => {
      const paths = stackPaths(root)
      const created = await ensurePasswordFile(paths, 1000, 1000)
      expect(created.created).to.equal(true)
      expect(lstatSync(paths.passwordFile).mode & 0o777).to.equal(0o600)
      expect(lstatSync(paths.secretsDir).mode & 0o777).to.equal(0o700)
      const again = await ensurePasswordFile(paths, 1000, 1000)
      expect(again).to.deep.equal({created: false, sha256: created.sha256})
    })

    it('refuses a linked password file and never chmods or chowns its target', async () => {
      const paths = stackPaths(root)
      mkdirSync(paths.secretsDir, {mode: 0o700})
      const decoy = path.join(root, 'shadow')
      writeFileSync(decoy, 'root:x:0', {mode: 0o640})
      symlinkSync(decoy, paths.passwordFile)
      const error = await rejection(ensurePasswordFile(paths, 1000, 1000))
      expect((error as Error).message).to.include('it is a symbolic link')
      expect(lstatSync(decoy).mode & 0o777).to.equal(0o640)
      expect(lstatSync(decoy).uid).to.equal(process.getuid!())
      expect(readFileSync(decoy, 'utf8')).to.equal('root:x:0')
    })

    // Giving a file away needs root, as the whole suite does (images, the engine).
    it('refuses a password file owned by somebody else', async () => {
      const paths = stackPaths(root)
      mkdirSync(paths.secretsDir, {mode: 0o700})
      writeFileSync(paths.passwordFile, 'pw', {mode: 0o600})
      chownSync(paths.passwordFile, 4242, 4242)
      const error = await rejection(ensurePasswordFile(paths, 1000, 1000))
      expect((error as Error).message).to.include('owned by uid 4242')
      expect(lstatSync(paths.passwordFile).uid).to.equal(4242)
    })

    it('refuses an empty password file', async () => {
      const paths = stackPaths(root)
      mkdirSync(paths.secretsDir, {mode: 0o700})
      writeFileSync(paths.passwordFile, '\n', {mode: 0o600})
      expect(((await rejection(ensurePasswordFile(paths, 1000, 1000))) as Error).message).to.include('is empty')
    })
  })
})
