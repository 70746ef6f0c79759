import {expect} from 'chai'
import {mkdtempSync, rmSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {freePort, runCli} from '../helpers/cli.js'
import {uniqueName} from '../helpers/docker.js'

interface Report {
  passed: boolean
  checks: Array<{name: string; status: string; detail: string; fix?: string}>
}

describe('stackctl doctor (integration)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'stackctl-doctor-'))
  const project = uniqueName('doctor')
  after(() => rmSync(dir, {recursive: true, force: true}))

  async function doctor(args: string[], env: Record<string, string> = {}) {
    const result = await runCli(['doctor', '--json', '--dir', dir, '--project-name', project, ...args], {
      env: {STACKCTL_IMAGE_SOURCE: 'local', ...env},
    })
    return {...result, report: JSON.parse(result.stdout) as Report}
  }

  const check = (report: Report, name: string) => report.checks.find((c) => c.name === name)!

  it('passes on this machine, with every check named', async () => {
    const {exitCode, report, stderr} = await doctor(['--port', String(await freePort())])
    expect(exitCode, stderr).to.equal(0)
    expect(report.passed).to.equal(true)
    expect(report.checks.map((c) => c.name)).to.deep.equal([
      'engine',
      'compose',
      'images',
      'port',
      'disk',
      'stack-dir',
      'exposure',
      'owner',
      'stack',
      'secret',
      'volume',
      'restore',
      // Archiving is the default: a stack not started yet is judged ok, nothing to archive yet.
      'archiving',
    ])
    expect(check(report, 'archiving')).to.include({status: 'ok', detail: 'not checked: the stack was not started yet'})
    expect(check(report, 'engine').detail).to.match(/^Docker \d+\.\d+/)
    expect(check(report, 'compose').detail).to.match(/^Docker Compose v?2\./)
  })

  it('fails the port check when a listener holds the port', async () => {
    const port = await freePort()
    const server: Server = createServer()
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
    try {
      const {exitCode, report} = await doctor(['--port', String(port)])
      expect(exitCode).to.equal(1)
      expect(report.passed).to.equal(false)
      expect(check(report, 'port')).to.include({status: 'fail'})
      expect(check(report, 'port').detail).to.include(`127.0.0.1:${port} is already in use`)
      expect(check(report, 'engine').status).to.equal('ok')
    } finally {
      server.close()
    }
  })

  it('fails the engine check, naming the endpoint, when DOCKER_HOST points at a dead socket', async () => {
    const socket = path.join(dir, 'no-such.sock')
    const {exitCode, report} = await doctor(['--port', String(await freePort())], {DOCKER_HOST: `unix://${socket}`})
    expect(exitCode).to.equal(1)
    expect(check(report, 'engine').status).to.equal('fail')
    expect(check(report, 'engine').detail).to.include(`unix://${socket}`)
    expect(check(report, 'engine').fix).to.include('DOCKER_HOST')
  })
})
