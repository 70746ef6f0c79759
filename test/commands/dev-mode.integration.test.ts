/**
 * Development mode: the API runs from a copy of src/api (never the real tree) through a bind mount, a saved
 * change is served within 3 s, and the data on the named volume is shared with normal mode.
 */
import {expect} from 'chai'
import {chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {freePort, repoRoot, runCli, NO_WAL_ARCHIVE} from '../helpers/cli.js'
import {docker, removeComposeProject, uniqueName} from '../helpers/docker.js'

interface Visit {
  message: string
  visits: number
}

describe('development mode (integration)', function () {
  this.timeout(300_000)
  const project = uniqueName('dev')
  const root = mkdtempSync(path.join(tmpdir(), 'stackctl-dev-'))
  const source = path.join(root, 'api')
  const dir = path.join(root, 'stack')
  let url: string
  let port: number

  const cli = (...args: string[]) =>
    runCli([...args, '--dir', dir, '--project-name', project], {env: {STACKCTL_IMAGE_SOURCE: 'local'}})

  async function visit(): Promise<Visit> {
    const response = await fetch(`${url}/`)
    expect(response.status).to.equal(200)
    return (await response.json()) as Visit
  }

  async function dbContainerId(): Promise<string> {
    const [db] = await docker.listContainers({
      filters: {label: [`com.docker.compose.project=${project}`, 'com.docker.compose.service=db']},
    })
    return db.Id
  }

  before(async () => {
    cpSync(path.join(repoRoot, 'src', 'api'), source, {recursive: true})
    chmodSync(root, 0o755) // the API runs as uid 1000 and must be able to read the copy
    port = await freePort()
    url = `http://127.0.0.1:${port}`
  })

  after(async () => {
    await removeComposeProject(project)
    rmSync(root, {recursive: true, force: true})
  })

  it('serves a saved change and keeps counting (the reload time is the bench’s to measure)', async () => {
    // This file's subject is not WAL archiving (on by default): its stacks run without it (NO_WAL_ARCHIVE).
    const up = await cli('up', NO_WAL_ARCHIVE, '--port', String(port), '--dev', '--dev-source', source)
    expect(up.exitCode, up.stderr).to.equal(0)
    const status = JSON.parse((await cli('status', '--json')).stdout)
    expect(status.compose.mode).to.equal('dev')
    const first = await visit()
    expect(first.visits).to.equal(1)

    const configFile = path.join(source, 'config.ts')
    const marker = `edited in dev mode ${Date.now()}`
    const original = readFileSync(configFile, 'utf8')
    const edited = original.replace(/(DEFAULT_MESSAGE\s*=\s*)(['"`]).*?\2/, `$1'${marker}'`)
    expect(edited).to.not.equal(original)
    const saved = Date.now()
    writeFileSync(configFile, edited)

    let seen: Visit | undefined
    // A loaded machine (CI, other builds) may take far longer than the bench's 1 s target: this checks the reload.
    while (Date.now() - saved < 60_000) {
      const response = await fetch(`${url}/`).catch(() => undefined)
      if (response?.status === 200) {
        const body = (await response.json()) as Visit
        if (body.message === marker) {
          seen = body
          break
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(seen, 'the new message was not served within 60 s').to.not.equal(undefined)
    expect(seen!.visits).to.be.greaterThan(first.visits) // the count continues: same database
  })

  it('reports a type error without stopping the server', async () => {
    writeFileSync(path.join(source, 'broken.ts'), "export const answer: number = 'not a number'\n")
    const deadline = Date.now() + 180_000 // tsc in a 256 MiB container is slow on a busy machine
    let logs = ''
    while (Date.now() < deadline && !logs.includes('broken.ts')) {
      await new Promise((resolve) => setTimeout(resolve, 1000))
      logs = (await cli('logs', 'app', '--tail', '50')).stdout
    }
    expect(logs).to.match(/type error: .*broken\.ts.*TS2322/)
    expect(logs).to.include('type check passed') // the clean tree checked clean before the break
    expect((await fetch(`${url}/healthz`)).status).to.equal(200)
    rmSync(path.join(source, 'broken.ts'))
  })

  it('switches to normal mode without cleanup, with the same data and the same database container', async () => {
    const before = (await visit()).visits
    const db = await dbContainerId()
    const up = await cli('up', NO_WAL_ARCHIVE, '--port', String(port))
    expect(up.exitCode, up.stderr).to.equal(0)
    const status = JSON.parse((await cli('status', '--json')).stdout)
    expect(status.compose.mode).to.equal('normal')
    const after = await visit()
    expect(after.visits).to.equal(before + 1)
    expect(after.message).to.not.match(/edited in dev mode/) // the built image, not the working copy
    expect(await dbContainerId()).to.equal(db)
  })
})
