/**
 * Bad input and a broken environment: one clear line, a hint, the documented exit code, no stack trace,
 * and nothing started or deleted.
 */
import {expect} from 'chai'
import {chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {freePort, runCli, type CliResult} from '../helpers/cli.js'
import {docker, uniqueName} from '../helpers/docker.js'

function expectCleanError(result: CliResult, code: number, pattern: RegExp) {
  expect(result.exitCode, result.stderr).to.equal(code)
  expect(result.stderr).to.match(pattern)
  expect(result.stderr).to.not.match(/\n\s+at .+:\d+:\d+/) // no stack trace
}

describe('failure modes (integration)', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'stackctl-failures-'))
  const project = uniqueName('fail')
  const dir = path.join(root, 'stack')
  after(() => rmSync(root, {recursive: true, force: true}))

  const cli = (args: string[], env: Record<string, string> = {}) =>
    runCli([...args, '--dir', dir, '--project-name', project], {env: {STACKCTL_IMAGE_SOURCE: 'local', ...env}})

  async function projectContainers() {
    return docker.listContainers({all: true, filters: {label: [`com.docker.compose.project=${project}`]}})
  }

  it('names the endpoint when the engine is unreachable (exit 2)', async () => {
    const socket = path.join(root, 'dead.sock')
    const result = await cli(['up'], {DOCKER_HOST: `unix://${socket}`})
    expectCleanError(result, 2, new RegExp(`cannot reach the Docker engine at unix://${socket}`))
    expect(result.stderr).to.include('DOCKER_HOST')
  })

  it('names the version found when only the retired Compose v1 is installed (exit 2)', async () => {
    const shims = path.join(root, 'shims')
    mkdirSync(shims, {recursive: true})
    // A docker CLI without the compose plugin, and a v1 docker-compose beside it.
    writeFileSync(
      path.join(shims, 'docker'),
      '#!/bin/sh\necho "docker: \'compose\' is not a docker command." >&2\nexit 1\n',
    )
    writeFileSync(path.join(shims, 'docker-compose'), '#!/bin/sh\necho 1.29.2\n')
    chmodSync(path.join(shims, 'docker'), 0o755)
    chmodSync(path.join(shims, 'docker-compose'), 0o755)
    const result = await cli(['up'], {PATH: `${shims}:${process.env.PATH}`})
    expectCleanError(result, 2, /Docker Compose v2 is required, found the retired docker-compose 1\.29\.2 \(v1\)/)
  })

  it('detects a taken port before starting anything (exit 2)', async () => {
    const port = await freePort()
    const server: Server = createServer()
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
    try {
      const result = await cli(['up', '--port', String(port)])
      expectCleanError(result, 2, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`))
      expect(result.stderr).to.include('--port')
      expect(await projectContainers()).to.have.length(0)
    } finally {
      server.close()
    }
  })

  it('names the container that holds the port (exit 2)', async () => {
    const port = await freePort()
    const holder = uniqueName('portholder')
    const container = await docker.createContainer({
      name: holder,
      Image: 'stackctl/node:20',
      Cmd: ['node', '-e', 'setTimeout(() => {}, 600000)'],
      ExposedPorts: {'5000/tcp': {}},
      HostConfig: {PortBindings: {'5000/tcp': [{HostIp: '127.0.0.1', HostPort: String(port)}]}},
    })
    try {
      await container.start()
      const result = await cli(['up', '--port', String(port)])
      expectCleanError(
        result,
        2,
        new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use by container ${holder}`),
      )
      expect(result.stderr).to.include(`stop ${holder}`)
      expect(await projectContainers()).to.have.length(0)
    } finally {
      await container.remove({force: true, v: true})
    }
  })

  for (const [args, pattern] of [
    [['up', '--port', '70000'], /Parsing --port: Expected an integer less than or equal to 65535 but received: 70000/],
    [['up', '--image-source', 'dockerhub'], /Expected --image-source=dockerhub to be one of: registry, local, auto/],
    [['status', '--project-name', 'Bad Name!'], /invalid project name 'Bad Name!'/],
    [['up', '--timeout', '0'], /Parsing --timeout: Expected an integer greater than or equal to 1/],
  ] as const) {
    it(`rejects ${args.join(' ')} before doing anything (exit 2)`, async () => {
      const result = await runCli([...args, '--dir', dir], {env: {STACKCTL_PROJECT: project}})
      expectCleanError(result, 2, pattern)
      expect(await projectContainers()).to.have.length(0)
    })
  }

  it('rejects an invalid value from the environment too', async () => {
    const result = await runCli(['up', '--dir', dir], {env: {STACKCTL_PORT: 'eighty', STACKCTL_PROJECT: project}})
    expectCleanError(result, 2, /Parsing --port: Expected an integer but received: eighty/)
  })

  it('says when the stack directory cannot be written (exit 2)', async () => {
    const file = path.join(root, 'a-file')
    writeFileSync(file, '')
    const result = await runCli(['render', '--dir', path.join(file, 'stack'), '--project-name', project])
    expectCleanError(result, 2, /refusing to use .*a-file: it is not a directory/)
    expect(result.stderr).to.include('--dir')
    const proc = await runCli(['render', '--dir', '/proc/1/stackctl', '--project-name', project])
    expectCleanError(proc, 2, /cannot be a stack directory: it is inside the system location \/proc/)
  })

  it('fails fast and writes nothing for --dir /, a system path, or a directory that holds other things', async () => {
    for (const bad of ['/', '/proc/x', '/etc/stackctl']) {
      const started = Date.now()
      const result = await runCli(['up', '--dir', bad, '--project-name', project])
      expectCleanError(result, 2, /cannot be a stack directory/)
      expect(Date.now() - started).to.be.lessThan(10_000)
    }
    expect(readdirSync('/')).to.not.include('secrets')
    const busy = path.join(root, 'busy')
    mkdirSync(busy)
    writeFileSync(path.join(busy, 'README.md'), 'my project')
    const result = await runCli(['up', '--dir', busy, '--project-name', project])
    expectCleanError(result, 2, /is not empty and is not a stackctl stack directory \(it holds README\.md\)/)
    expect(readdirSync(busy)).to.deep.equal(['README.md'])
    expect(await projectContainers()).to.have.length(0)
  })

  it('rejects a 300-character project name before creating anything (no network, no volume)', async () => {
    const long = 'a'.repeat(300)
    const result = await runCli(['up', '--dir', path.join(root, 'long'), '--project-name', long])
    expectCleanError(result, 2, /invalid project name: 300 characters, at most 48/)
    const networks = await docker.listNetworks({filters: {name: [long.slice(0, 40)]}})
    expect(networks).to.have.length(0)
  })

  for (const [flag, value] of [
    ['--port', '1e3'],
    ['--port', '0x50'],
    ['--port', ' 21001'],
    ['--host', 'abc:def'],
    ['--host', ':::::'],
    ['--host', '255.255.255.255'],
  ] as const) {
    it(`rejects ${flag} '${value}' with one line and a hint (exit 2)`, async () => {
      const result = await runCli(['render', '--stdout', '--dir', path.join(root, 'never'), flag, value])
      expectCleanError(result, 2, flag === '--port' ? /Parsing --port: Expected an integer/ : /invalid host address/)
      expect(result.stderr).to.match(/Hint: /)
      expect(readdirSync(root)).to.not.include('never')
    })
  }

  it('never overwrites a hand-edited compose file without --force', async () => {
    const first = await cli(['render', '--port', String(await freePort())])
    expect(first.exitCode, first.stderr).to.equal(0)
    const composeFile = path.join(dir, 'docker-compose.yml')
    const edited = readFileSync(composeFile, 'utf8') + '# my own note\n'
    writeFileSync(composeFile, edited)
    const refused = await cli(['render'])
    expectCleanError(refused, 2, /was edited by hand/)
    expect(refused.stderr).to.include('--force')
    expect(readFileSync(composeFile, 'utf8')).to.equal(edited)
    const forced = await cli(['render', '--force'])
    expect(forced.exitCode, forced.stderr).to.equal(0)
    expect(readFileSync(composeFile, 'utf8')).to.not.include('# my own note')
  })
})
