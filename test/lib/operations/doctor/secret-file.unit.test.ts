/** doctor's read of the password file: never through a link, and a read error as one plain line. */
import {expect} from 'chai'
import {mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {readSecretFile, secretReadProblem} from '../../../../src/lib/operations/doctor/secret-file.js'

describe('doctor: reading the password file', () => {
  let root: string
  const paths = () => ({
    secretsDir: path.join(root, 'stack', 'secrets'),
    passwordFile: path.join(root, 'stack', 'secrets', 'db_password'),
  })

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'stackctl-secret-'))
    mkdirSync(path.join(root, 'stack'))
    mkdirSync(path.join(root, 'elsewhere'))
    writeFileSync(path.join(root, 'elsewhere', 'db_password'), 'hunter2', {mode: 0o600})
  })
  afterEach(() => rmSync(root, {recursive: true, force: true}))

  it('reads a regular file in a real directory (negative control)', async () => {
    mkdirSync(paths().secretsDir)
    writeFileSync(paths().passwordFile, 'hunter2', {mode: 0o600})
    expect(await readSecretFile(paths())).to.deep.equal({content: 'hunter2'})
    rmSync(paths().passwordFile)
    expect(await readSecretFile(paths())).to.deep.equal({content: undefined})
  })

  it('does not read through a symlinked secrets/ directory', async () => {
    symlinkSync(path.join(root, 'elsewhere'), paths().secretsDir)
    const {content, problem} = await readSecretFile(paths())
    expect(content).to.equal(undefined)
    expect(problem?.detail).to.equal(`${paths().secretsDir} is a symbolic link`)
    expect(problem?.fix).to.include('regular file stackctl wrote')
  })

  it('does not read through a symlinked password file, nor a directory in its place', async () => {
    mkdirSync(paths().secretsDir)
    symlinkSync(path.join(root, 'elsewhere', 'db_password'), paths().passwordFile)
    expect((await readSecretFile(paths())).problem?.detail).to.include('is a symbolic link')
    rmSync(paths().passwordFile)
    mkdirSync(paths().passwordFile)
    expect((await readSecretFile(paths())).problem?.detail).to.include('is not a regular file')
  })

  it('turns EACCES into one plain sentence, without the errno text', () => {
    const error = Object.assign(new Error("EACCES: permission denied, open '/s/secrets/db_password'"), {code: 'EACCES'})
    const problem = secretReadProblem('/s/secrets/db_password', error)
    expect(problem.detail).to.equal('cannot read /s/secrets/db_password: permission denied')
    expect(problem.detail + problem.fix).to.not.include('EACCES')
    expect(problem.fix).to.include('doctor as the user')
  })
})
