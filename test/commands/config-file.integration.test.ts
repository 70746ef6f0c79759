/**
 * stackctl.yaml through the built CLI (no stack is started: `status` of a stack never started only asks the
 * engine): status shows the file and uses its settings; a bad key stops `up` before anything is written.
 */
import {expect} from 'chai'
import {mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {runCli} from '../helpers/cli.js'
import {uniqueName} from '../helpers/docker.js'

describe('stackctl.yaml (integration)', function () {
  this.timeout(120_000)
  const root = mkdtempSync(path.join(tmpdir(), 'stackctl-yaml-'))
  const project = uniqueName('w24-yaml')
  const file = path.join(root, 'stackctl.yaml')

  after(() => rmSync(root, {recursive: true, force: true}))

  it('status shows the file and the settings it gives; a flag overrides them', async () => {
    writeFileSync(file, `project: ${project}\nport: 5999\n`)
    const status = await runCli(['status'], {cwd: root})
    expect(status.exitCode, status.stderr).to.equal(0)
    expect(status.stdout).to.include(`project  ${project}`)
    expect(status.stdout).to.include('url      http://127.0.0.1:5999')
    expect(status.stdout).to.include(`config   ${file} (project, port)`)
    const json = await runCli(['status', '--json', '--project-name', `${project}-x`], {cwd: root})
    expect(JSON.parse(json.stdout).project).to.equal(`${project}-x`)
  })

  it('a misspelt key stops up with one line naming the file and the key, and nothing is written', async () => {
    writeFileSync(file, `project: ${project}\nprot: 5999\n`)
    const up = await runCli(['up'], {cwd: root})
    expect(up.exitCode).to.equal(2)
    expect(up.stderr).to.include(`${file}: unknown key 'prot'`)
    expect(up.stderr).to.include("did you mean 'port'?")
    expect(readdirSync(root)).to.deep.equal(['stackctl.yaml'])
  })
})
