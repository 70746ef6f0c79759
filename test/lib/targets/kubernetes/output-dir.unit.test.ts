import {expect} from 'chai'
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {EnvironmentError, StackctlError, UsageError} from '../../../../src/lib/errors.js'
import {sha256, UnsafePath} from '../../../../src/lib/model/stackdir/files.js'
import {checkOutputDir, MARKER_FILE, writeOutputDir} from '../../../../src/lib/targets/kubernetes/output-dir.js'
import {render} from './scenarios.js'

async function rejection(work: Promise<unknown>): Promise<unknown> {
  return work.then(
    () => 'resolved',
    (error: unknown) => error,
  )
}

async function write(dir: string, files = render(), force = false) {
  return writeOutputDir(await checkOutputDir(dir, files, force))
}

describe('the kubernetes output directory', () => {
  let root: string
  let out: string
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'stackctl-k8s-out-'))
    out = path.join(root, 'a', 'kubernetes')
  })
  afterEach(() => rmSync(root, {recursive: true, force: true}))

  it('creates the directory with every file and a marker, then finds nothing to write the second time', async () => {
    const files = render()
    expect(await write(out, files)).to.deep.equal({written: true})
    expect(readdirSync(out).sort()).to.deep.equal([...files.map((file) => file.name), MARKER_FILE].sort())
    for (const file of files) expect(readFileSync(path.join(out, file.name), 'utf8')).to.equal(file.text)
    expect(JSON.parse(readFileSync(path.join(out, MARKER_FILE), 'utf8')).renderedBy).to.equal('stackctl')
    expect(readdirSync(out).filter((name) => name.endsWith('.tmp'))).to.deep.equal([])
    expect(await write(out, files)).to.deep.equal({written: false})
  })

  it('writes into an existing empty directory', async () => {
    mkdirSync(out, {recursive: true})
    expect(await write(out)).to.deep.equal({written: true})
  })

  it('refuses a non-empty directory that stackctl did not write, and writes nothing', async () => {
    mkdirSync(out, {recursive: true})
    writeFileSync(path.join(out, 'notes.txt'), 'mine')
    const error = await rejection(checkOutputDir(out, render(), true))
    expect(error).to.be.instanceOf(UsageError)
    expect((error as UsageError).message).to.equal(
      `${out} is not empty and was not written by stackctl (it holds notes.txt)`,
    )
    expect((error as UsageError).suggestion).to.include('--out')
    expect(readdirSync(out)).to.deep.equal(['notes.txt'])
  })

  it('refuses a marker that is not stackctl’s, or that names files stackctl never writes', async () => {
    mkdirSync(out, {recursive: true})
    for (const marker of [
      'not json',
      '{"renderedBy": "someone", "files": {}}',
      JSON.stringify({renderedBy: 'stackctl', files: {'../../victim': ['0'.repeat(64)]}}),
      JSON.stringify({renderedBy: 'stackctl', files: {'app-pdb.yaml': ['short']}}),
    ]) {
      writeFileSync(path.join(out, MARKER_FILE), marker)
      const error = await rejection(checkOutputDir(out, render(), true))
      expect(error, marker).to.be.instanceOf(UsageError)
      expect((error as Error).message).to.include(`its ${MARKER_FILE} is not stackctl's`)
    }
  })

  it('refuses a linked directory, a linked file and a file where the directory should be', async () => {
    mkdirSync(path.join(root, 'real'))
    mkdirSync(path.join(root, 'a'))
    symlinkSync(path.join(root, 'real'), out)
    expect(await rejection(checkOutputDir(out, render(), true))).to.be.instanceOf(UnsafePath)
    rmSync(out)
    writeFileSync(out, '')
    expect(await rejection(checkOutputDir(out, render(), true))).to.be.instanceOf(UnsafePath)
    rmSync(out)

    await write(out)
    const victim = path.join(root, 'victim.txt')
    writeFileSync(victim, 'keep')
    rmSync(path.join(out, 'app-pdb.yaml'))
    symlinkSync(victim, path.join(out, 'app-pdb.yaml'))
    expect(await rejection(checkOutputDir(out, render({replicas: 4}), true))).to.be.instanceOf(UnsafePath)
    expect(readFileSync(victim, 'utf8')).to.equal('keep')
    expect(lstatSync(path.join(out, 'app-pdb.yaml')).isSymbolicLink()).to.equal(true)
  })

  it('explains a directory it cannot create as an environment problem (exit 2)', async () => {
    const error = await rejection(write('/proc/stackctl-k8s-test'))
    expect(error).to.be.instanceOf(EnvironmentError)
    expect((error as EnvironmentError).message).to.equal(
      'cannot write the manifests to /proc/stackctl-k8s-test (ENOENT)',
    )
    expect((error as EnvironmentError).exitCode).to.equal(2)
  })

  it('refuses to overwrite a hand-edited file without --force, and overwrites it with --force', async () => {
    await write(out)
    const edited = path.join(out, 'app-deployment.yaml')
    writeFileSync(edited, readFileSync(edited, 'utf8') + '# mine\n')
    const error = await rejection(checkOutputDir(out, render({replicas: 3}), false))
    expect(error).to.be.instanceOf(StackctlError)
    expect((error as StackctlError).exitCode).to.equal(2)
    expect((error as StackctlError).message).to.equal(`${edited} was edited by hand since stackctl wrote it`)
    expect(readFileSync(edited, 'utf8')).to.include('# mine')

    expect(await write(out, render({replicas: 3}), true)).to.deep.equal({written: true})
    expect(readFileSync(edited, 'utf8')).to.not.include('# mine')
    expect(readFileSync(edited, 'utf8')).to.include('replicas: 3')
  })

  it('removes the files a new render no longer has, and leaves files of the user alone', async () => {
    await write(out)
    writeFileSync(path.join(out, 'README.local'), 'mine')
    const cnpg = render({postgres: 'cloudnative-pg'})
    expect(await write(out, cnpg)).to.deep.equal({written: true})
    expect(existsSync(path.join(out, 'db-statefulset.yaml'))).to.equal(false)
    expect(readdirSync(out).sort()).to.deep.equal(
      [...cnpg.map((file) => file.name), MARKER_FILE, 'README.local'].sort(),
    )
  })

  it('accepts a directory left half-written by an interrupted render, each file old or new', async () => {
    const before = render()
    await write(out, before)
    // What writeOutputDir leaves when stopped after its first marker and one file: both contents accepted.
    const interrupted = render({replicas: 7})
    const marker = Object.fromEntries(
      before.map((file, index) => [file.name, [sha256(file.text), sha256(interrupted[index].text)]]),
    )
    writeFileSync(path.join(out, MARKER_FILE), JSON.stringify({renderedBy: 'stackctl', files: marker}))
    const deployment = interrupted.find((file) => file.name === 'app-deployment.yaml')!
    writeFileSync(path.join(out, deployment.name), deployment.text)

    expect(await write(out, render({replicas: 3}))).to.deep.equal({written: true})
    expect(readFileSync(path.join(out, deployment.name), 'utf8')).to.include('replicas: 3')
    const recorded = JSON.parse(readFileSync(path.join(out, MARKER_FILE), 'utf8')).files
    expect(recorded[deployment.name]).to.deep.equal([sha256(render({replicas: 3})[4].text)])
  })
})
