/**
 * The locally built PostgreSQL image against the real engine: the official image's contract (password from a
 * secret file, user, database, PGDATA, command overrides), password auth over TCP, the server running as
 * postgres as PID 1, and data that lives on the named volume, not in the container.
 */
import {expect} from 'chai'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import pg from 'pg'

import {freePort} from '../../../helpers/cli.js'
import {Cleanup, docker, engine, uniqueName} from '../../../helpers/docker.js'
import {BUILD_TIMEOUT_MS, ensureImage} from './ensure-images.js'

const IMAGE = 'stackctl/postgres:17'
const PASSWORD = 'correct horse battery staple'
const DATABASE = 'visits'
const SECRET = '/run/secrets/db_password'
const DEFAULT_ENV = [`POSTGRES_PASSWORD_FILE=${SECRET}`, `POSTGRES_DB=${DATABASE}`]

interface Started {
  name: string
  port: number
}

async function withClient<T>(port: number, password: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password,
    database: DATABASE,
    connectionTimeoutMillis: 5000,
  })
  client.on('error', () => {}) // a server shutting down must not crash the test process
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end().catch(() => {})
  }
}

async function scalar(port: number, sql: string): Promise<unknown> {
  return withClient(port, PASSWORD, async (client) => Object.values((await client.query(sql)).rows[0] ?? {})[0])
}

async function exec(name: string, cmd: string[]): Promise<string> {
  const result = await engine.containers.exec(name, cmd)
  expect(result.exitCode, result.stderr).to.equal(0)
  return result.stdout.trim()
}

describe('stackctl/postgres:17 image (integration)', function () {
  this.timeout(180_000)
  const cleanup = new Cleanup()
  const secretDir = mkdtempSync(path.join(tmpdir(), 'stackctl-pg-secret-'))
  const secretFile = path.join(secretDir, 'db_password')
  const volume = uniqueName('pgdata')

  before(async function () {
    this.timeout(BUILD_TIMEOUT_MS)
    await ensureImage('postgres')
    // A trailing newline, as `echo pw > file` writes it: stripped like the official image does.
    writeFileSync(secretFile, `${PASSWORD}\n`, {mode: 0o600})
    await docker.createVolume({Name: cleanup.volume(volume)})
  })

  after(async () => {
    try {
      await cleanup.run()
    } finally {
      rmSync(secretDir, {recursive: true, force: true})
    }
  })

  async function create(options: {volume?: string; cmd?: string[]; env?: string[]}): Promise<Started> {
    const name = cleanup.container(uniqueName('pg'))
    const port = await freePort()
    const binds = [`${secretFile}:${SECRET}:ro`]
    if (options.volume) binds.push(`${options.volume}:/var/lib/postgresql/data`)
    const container = await docker.createContainer({
      name,
      Image: IMAGE,
      Cmd: options.cmd,
      Env: options.env ?? DEFAULT_ENV,
      ExposedPorts: {'5432/tcp': {}},
      HostConfig: {Binds: binds, PortBindings: {'5432/tcp': [{HostIp: '127.0.0.1', HostPort: String(port)}]}},
    })
    await container.start()
    return {name, port}
  }

  /** Ready means: the real server answers over TCP with the password (the init server is socket-only). */
  async function start(options: {volume?: string; cmd?: string[]}): Promise<Started> {
    const started = await create(options)
    const deadline = Date.now() + 90_000
    for (;;) {
      try {
        await scalar(started.port, 'SELECT 1')
        return started
      } catch (error) {
        const state = (await docker.getContainer(started.name).inspect()).State
        if (!state.Running || Date.now() > deadline) {
          const logs = await engine.containers.logTail(started.name, 30)
          throw new Error(`${started.name} did not become ready (${(error as Error).message}):\n${logs}`)
        }
        await sleep(250)
      }
    }
  }

  describe('on a named volume', () => {
    let first: Started

    before(async () => {
      first = await start({volume})
    })

    it('takes the password from POSTGRES_PASSWORD_FILE and refuses a wrong one over TCP', async () => {
      expect(await scalar(first.port, 'SELECT current_user')).to.equal('postgres')
      const refused = await withClient(first.port, 'wrong password', async () => 'connected').catch(
        (error: {code?: string}) => error,
      )
      expect(refused).to.have.property('code', '28P01') // invalid_password
    })

    it('creates POSTGRES_DB and runs PostgreSQL 17 as postgres, as PID 1', async () => {
      expect(await scalar(first.port, 'SELECT current_database()')).to.equal(DATABASE)
      expect(String(await scalar(first.port, 'SHOW server_version'))).to.match(/^17\./)
      expect(await exec(first.name, ['cat', '/var/lib/postgresql/data/PG_VERSION'])).to.equal('17')
      expect(await exec(first.name, ['cat', '/proc/1/comm'])).to.equal('postgres')
      const uid = /^Uid:\s+(\d+)/m.exec(await exec(first.name, ['cat', '/proc/1/status']))?.[1]
      expect(uid).to.equal(await exec(first.name, ['id', '-u', 'postgres']))
      expect(uid).to.not.equal('0')
      expect(await exec(first.name, ['stat', '-c', '%U', '/var/lib/postgresql/data', '/var/run/postgresql'])).to.equal(
        'postgres\npostgres',
      )
    })

    it('keeps durable defaults and answers the TCP health check', async () => {
      expect(await scalar(first.port, 'SHOW fsync')).to.equal('on')
      expect(await scalar(first.port, 'SHOW password_encryption')).to.equal('scram-sha-256')
      const ready = await engine.containers.exec(first.name, ['pg_isready', '-h', '127.0.0.1', '-U', 'postgres'])
      expect(ready.exitCode, ready.stdout).to.equal(0)
    })

    it('keeps rows on the volume when the container is stopped, removed and created again', async () => {
      await withClient(first.port, PASSWORD, async (client) => {
        await client.query('CREATE TABLE visits (id serial PRIMARY KEY, note text NOT NULL)')
        await client.query("INSERT INTO visits (note) VALUES ('one'), ('two'), ('three')")
      })
      // SIGINT reaches the server itself (PID 1): a clean fast shutdown, exit code 0, well within the timeout.
      await docker.getContainer(first.name).stop({t: 30})
      const stopped = (await docker.getContainer(first.name).inspect()).State
      expect(stopped.ExitCode).to.equal(0)
      expect(await engine.containers.logTail(first.name, 5)).to.include('database system is shut down')
      await docker.getContainer(first.name).remove({v: true})

      // A leading flag means `postgres <flags>`, as with the official image.
      const second = await start({volume, cmd: ['-c', 'work_mem=8MB']})
      expect(await scalar(second.port, "SELECT string_agg(note, ',' ORDER BY id) FROM visits")).to.equal(
        'one,two,three',
      )
      expect(await scalar(second.port, 'SHOW work_mem')).to.equal('8MB')
      expect(await engine.containers.logTail(second.name, 50)).to.include('skipping initialisation')
    })

    it('without the volume a new container starts empty (negative control), and takes `postgres -c` flags', async () => {
      const fresh = await start({cmd: ['postgres', '-c', 'fsync=off']})
      expect(await scalar(fresh.port, "SELECT to_regclass('public.visits')")).to.equal(null)
      expect(await scalar(fresh.port, 'SHOW fsync')).to.equal('off')
    })
  })

  it('refuses to initialise without a password, saying which variables to set', async () => {
    const {name} = await create({env: [`POSTGRES_DB=${DATABASE}`]})
    const exit = (await docker.getContainer(name).wait()) as {StatusCode: number}
    expect(exit.StatusCode).to.equal(1)
    const logs = await engine.containers.logTail(name, 5)
    expect(logs).to.match(/error: .*no superuser password is set: set POSTGRES_PASSWORD or\s+POSTGRES_PASSWORD_FILE/)
  })
})
