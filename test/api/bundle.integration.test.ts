/**
 * The shipped artefact: scripts/bundle-api.mjs turns src/api into one file that runs under plain node from a
 * directory without node_modules, takes its configuration from the environment, answers /healthz, serves as
 * its own health check and stops cleanly on SIGTERM.
 */
import {expect} from 'chai'
import {execFile, spawn, type ChildProcess} from 'node:child_process'
import {copyFileSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {promisify} from 'node:util'

import {freePort, repoRoot} from '../helpers/cli.js'
import {Cleanup} from '../helpers/docker.js'
import {startPostgres, type TestPostgres} from './postgres-container.js'

const run = promisify(execFile)

interface Child {
  process: ChildProcess
  output: () => string
  exited: Promise<number | null>
}

describe('API bundle (integration)', function () {
  this.timeout(300_000)
  const cleanup = new Cleanup()
  const dir = mkdtempSync(path.join(tmpdir(), 'stackctl-bundle-'))
  const bundle = path.join(dir, 'server.mjs')
  const passwordFile = path.join(dir, 'db_password')
  const children: ChildProcess[] = []
  let postgres: TestPostgres

  /** Only what the container would get: no NODE_OPTIONS (tsx), no inherited PG* variables. */
  function start(env: Record<string, string>, args: string[] = []): Child {
    const child = spawn(process.execPath, [bundle, ...args], {
      cwd: dir,
      env: {PATH: process.env.PATH ?? '', NODE_ENV: 'production', ...env},
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.push(child)
    let output = ''
    child.stdout!.on('data', (chunk) => (output += chunk))
    child.stderr!.on('data', (chunk) => (output += chunk))
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    return {process: child, output: () => output, exited}
  }

  function dbEnv(): Record<string, string> {
    return {
      POSTGRES_HOST: '127.0.0.1',
      POSTGRES_PORT: String(postgres.db.port),
      POSTGRES_USER: postgres.db.user,
      POSTGRES_DB: postgres.db.database,
      POSTGRES_PASSWORD_FILE: passwordFile,
      HOST: '127.0.0.1',
    }
  }

  async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  async function status(url: string): Promise<number> {
    return fetch(url, {signal: AbortSignal.timeout(5000)}).then(
      (response) => response.status,
      () => 0,
    )
  }

  before(async () => {
    await run(process.execPath, ['scripts/bundle-api.mjs'], {cwd: repoRoot})
    // Run a copy from a directory of its own: it must need nothing but node.
    copyFileSync(path.join(repoRoot, 'dist', 'api', 'server.mjs'), bundle)
    postgres = await startPostgres(cleanup)
    writeFileSync(passwordFile, `${postgres.db.password}\n`, {mode: 0o600})
  })

  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    rmSync(dir, {recursive: true, force: true})
    await cleanup.run()
  })

  it('serves, passes its own health check, and exits 0 on SIGTERM', async () => {
    const port = await freePort()
    const api = start({...dbEnv(), PORT: String(port)})
    const url = `http://127.0.0.1:${port}`
    await waitFor(async () => (await status(`${url}/healthz`)) === 200, 60_000)

    const visit = await fetch(`${url}/`)
    expect(visit.status).to.equal(200)
    expect(await visit.json()).to.have.property('visits', 1)
    const healthy = await run(process.execPath, [bundle, 'healthcheck'], {env: {PORT: String(port)}})
    expect(healthy.stderr).to.equal('')

    api.process.kill('SIGTERM')
    const started = Date.now()
    expect(await api.exited).to.equal(0)
    expect(Date.now() - started).to.be.below(10_000)
    const lines = api
      .output()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as {msg: string})
    expect(lines.map((line) => line.msg)).to.deep.equal(['starting', 'listening', 'stopping', 'stopped'])
    expect(api.output()).not.to.include(postgres.db.password)
  })

  it('fails its health check when nothing answers', async () => {
    const port = await freePort()
    const failure = await run(process.execPath, [bundle, 'healthcheck'], {env: {PORT: String(port)}}).catch(
      (error: {code?: number}) => error,
    )
    expect(failure).to.have.property('code', 1)
  })

  it('refuses a bad configuration with one log line and exit 1', async () => {
    const api = start({...dbEnv(), POSTGRES_PORT: 'five'})
    expect(await api.exited).to.equal(1)
    const lines = api.output().trim().split('\n')
    expect(lines).to.have.length(1)
    expect(JSON.parse(lines[0])).to.include({
      level: 'error',
      msg: "invalid configuration: POSTGRES_PORT must be a port number 1-65535, got 'five'",
    })
  })

  it('keeps retrying an unreachable database, and still stops at once on SIGTERM', async () => {
    const api = start({...dbEnv(), POSTGRES_PORT: String(await freePort()), PORT: String(await freePort())})
    await waitFor(() => (api.output().match(/database not ready, retrying/g) ?? []).length >= 2, 30_000)
    api.process.kill('SIGTERM')
    expect(await api.exited).to.equal(0)
    expect(api.output()).not.to.include('listening')
    expect(api.output()).to.include('"msg":"stopped"')
  })
})
