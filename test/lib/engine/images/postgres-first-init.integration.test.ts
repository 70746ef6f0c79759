/**
 * The PostgreSQL image's first initialisation against the real engine: a container SIGKILLed in the middle
 * of it leaves no PG_VERSION and the next start recovers by itself; an interrupted move into place is
 * completed; foreign files are refused and kept; and the states older images could leave (initdb unfinished,
 * POSTGRES_DB never created) are refused with a way out, or repaired when that loses nothing.
 */
import {expect} from 'chai'
import {chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import pg from 'pg'

import {freePort, repoRoot} from '../../../helpers/cli.js'
import {Cleanup, docker, engine, uniqueName} from '../../../helpers/docker.js'
import {BUILD_TIMEOUT_MS, ensureImage} from './ensure-images.js'

const IMAGE = 'stackctl/postgres:17'
const PASSWORD = 'first init'
const BASE_ENV = [`POSTGRES_PASSWORD=${PASSWORD}`]
const VISITS_ENV = [...BASE_ENV, 'POSTGRES_DB=visits']
const ENTRYPOINT = path.join(repoRoot, 'templates/images/postgres/docker-entrypoint.sh')
const MANIFEST_HEADER = /^MANIFEST_HEADER='(.*)'$/m.exec(readFileSync(ENTRYPOINT, 'utf8'))?.[1] ?? 'missing'

interface Db {
  name: string
  port: number
}

interface DbOptions {
  volume: string
  env?: string[]
  /** A host directory mounted as /docker-entrypoint-initdb.d. */
  initdb?: string
}

async function query(port: number, sql: string, database = 'visits'): Promise<unknown> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password: PASSWORD,
    database,
    connectionTimeoutMillis: 5000,
  })
  client.on('error', () => {})
  await client.connect()
  try {
    return Object.values((await client.query(sql)).rows[0] ?? {})[0]
  } finally {
    await client.end().catch(() => {})
  }
}

describe('stackctl/postgres:17 first initialisation (integration)', function () {
  this.timeout(240_000)
  const cleanup = new Cleanup()
  const hostDir = mkdtempSync(path.join(tmpdir(), 'stackctl-first-init-'))

  before(async function () {
    this.timeout(BUILD_TIMEOUT_MS)
    await ensureImage('postgres')
  })

  after(async () => {
    try {
      await cleanup.run()
    } finally {
      rmSync(hostDir, {recursive: true, force: true})
    }
  })

  async function newVolume(): Promise<string> {
    const name = cleanup.volume(uniqueName('pginit'))
    await docker.createVolume({Name: name})
    return name
  }

  /** A directory of init scripts, mounted read-only as /docker-entrypoint-initdb.d. */
  function initScripts(files: Record<string, string>): string {
    const dir = mkdtempSync(path.join(hostDir, 'initdb-'))
    chmodSync(dir, 0o755) // the scripts run as postgres
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text, {mode: 0o644})
    return dir
  }

  /** Runs a bash script as root in a throwaway container with the volume on /v; returns its output. */
  async function inVolume(volume: string, script: string): Promise<string> {
    const container = await docker.createContainer({
      name: cleanup.container(uniqueName('pgvol')),
      Image: IMAGE,
      Entrypoint: ['bash', '-euc', script],
      HostConfig: {Binds: [`${volume}:/v`], NetworkMode: 'none'},
    })
    await container.start()
    const exit = (await container.wait()) as {StatusCode: number}
    const output = await engine.containers.logTail(container.id, 1000)
    await container.remove({v: true})
    expect(exit.StatusCode, output).to.equal(0)
    return output
  }

  async function entries(volume: string): Promise<string[]> {
    return (await inVolume(volume, 'ls -A1 /v')).split('\n').filter(Boolean)
  }

  async function create(options: DbOptions): Promise<Db> {
    const name = cleanup.container(uniqueName('pginit'))
    const port = await freePort()
    const binds = [`${options.volume}:/var/lib/postgresql/data`]
    if (options.initdb) binds.push(`${options.initdb}:/docker-entrypoint-initdb.d:ro`)
    const container = await docker.createContainer({
      name,
      Image: IMAGE,
      Env: options.env ?? VISITS_ENV,
      ExposedPorts: {'5432/tcp': {}},
      HostConfig: {Binds: binds, PortBindings: {'5432/tcp': [{HostIp: '127.0.0.1', HostPort: String(port)}]}},
    })
    await container.start()
    return {name, port}
  }

  /** Ready: the real server answers over TCP with the password (the set-up server is socket-only). */
  async function start(options: DbOptions, database = 'visits'): Promise<Db> {
    const db = await create(options)
    const deadline = Date.now() + 60_000
    for (;;) {
      try {
        await query(db.port, 'SELECT 1', database)
        return db
      } catch (error) {
        const state = (await docker.getContainer(db.name).inspect()).State
        if (!state.Running || Date.now() > deadline) {
          const logs = await engine.containers.logTail(db.name, 30)
          throw new Error(`${db.name} did not become ready (${(error as Error).message}):\n${logs}`)
        }
        await sleep(250)
      }
    }
  }

  async function exited(db: Db): Promise<{code: number; logs: string}> {
    const exit = (await docker.getContainer(db.name).wait()) as {StatusCode: number}
    return {code: exit.StatusCode, logs: await engine.containers.logTail(db.name, 20)}
  }

  async function waitForLog(db: Db, text: string): Promise<void> {
    const deadline = Date.now() + 60_000
    while (!(await engine.containers.logTail(db.name, 50)).includes(text)) {
      if (Date.now() > deadline) throw new Error(`no '${text}' in the log of ${db.name}`)
      await sleep(200)
    }
  }

  it('leaves no PG_VERSION when killed during its first initialisation, and the next start recovers by itself', async () => {
    const volume = await newVolume()
    const slow = initScripts({'01-slow.sh': 'echo "slow init script: started"\nsleep 600\n'})
    const first = await create({volume, initdb: slow})
    await waitForLog(first, 'slow init script: started')
    await docker.getContainer(first.name).kill({signal: 'SIGKILL'})
    expect(await entries(volume)).to.deep.equal(['.stackctl-init'])

    const scripts = initScripts({
      // The official pattern for configuration: a script that appends to $PGDATA/postgresql.conf.
      '01-config.sh': `echo "work_mem = '7MB'" >> "$PGDATA/postgresql.conf"\n`,
      '02-table.sql': 'CREATE TABLE init_marker (id int);\n',
    })
    const second = await start({volume, initdb: scripts})
    expect(await query(second.port, 'SELECT current_database()')).to.equal('visits')
    expect(await query(second.port, "SELECT to_regclass('public.init_marker')::text")).to.equal('init_marker')
    expect(await query(second.port, 'SHOW work_mem')).to.equal('7MB')
    const logs = await engine.containers.logTail(second.name, 500)
    expect(logs).to.include('was left by a first initialisation that was stopped before it finished')
    expect(logs).to.include('initialisation complete')
    const after = await entries(volume)
    expect(after).to.include.members(['PG_VERSION', 'base', 'global', 'pg_wal', 'postgresql.conf'])
    expect(after).to.not.include('.stackctl-init')
  })

  it('completes a move into place that was interrupted, keeping what the cluster holds', async () => {
    const volume = await newVolume()
    const first = await start({volume})
    await query(first.port, "CREATE TABLE kept AS SELECT 'row ' || g AS note FROM generate_series(1, 3) g")
    await docker.getContainer(first.name).stop({t: 30})
    // The state a kill in the middle of the move leaves: the manifest, some entries in place, the rest
    // (PG_VERSION among them) still in the build directory.
    await inVolume(
      volume,
      `cd /v && mkdir -p .stackctl-init/pgdata
       { printf '%s\\n' '${MANIFEST_HEADER}'; ls -A1 | grep -vxF -e .stackctl-init -e PG_VERSION; echo PG_VERSION; } > .stackctl-init/manifest
       mv PG_VERSION base global pg_wal .stackctl-init/pgdata/
       chown -R postgres:postgres .stackctl-init`,
    )
    expect(await entries(volume)).to.not.include('PG_VERSION')

    const second = await start({volume})
    expect(await query(second.port, "SELECT string_agg(note, ',' ORDER BY note) FROM kept")).to.equal(
      'row 1,row 2,row 3',
    )
    const logs = await engine.containers.logTail(second.name, 500)
    expect(logs).to.include('completing a first initialisation that was interrupted while it moved')
    expect(logs).to.not.include('initialising') // the cluster was kept, not made anew
    expect(logs).to.not.include('no database of its own')
    const after = await entries(volume)
    expect(after).to.include.members(['PG_VERSION', 'base', 'global', 'pg_wal'])
    expect(after).to.not.include('.stackctl-init')
  })

  it('refuses a volume with foreign files and no PG_VERSION, and keeps every file (negative control)', async () => {
    const volume = await newVolume()
    await inVolume(
      volume,
      'echo "keep me" > /v/notes.txt && mkdir -p /v/.stackctl-init/pgdata && echo 17 > /v/.stackctl-init/pgdata/PG_VERSION',
    )
    const {code, logs} = await exited(await create({volume}))
    expect(code).to.equal(1)
    expect(logs).to.match(
      /error: \/var\/lib\/postgresql\/data holds files but no PostgreSQL database \(no PG_VERSION\): 'notes\.txt'\./,
    )
    expect(logs).to.include('never removes files it did not create')
    expect(logs).to.not.match(/(remove|delete) the volume|volume rm|--volumes/i)
    expect(await entries(volume)).to.deep.equal(['.stackctl-init', 'notes.txt'])
    expect((await inVolume(volume, 'cat /v/notes.txt /v/.stackctl-init/pgdata/PG_VERSION')).trim()).to.equal(
      'keep me\n17',
    )
  })

  it('refuses a cluster whose initdb never finished (older images), and sets it aside only when asked', async () => {
    const volume = await newVolume()
    await inVolume(volume, 'echo 17 > /v/PG_VERSION && mkdir /v/base /v/global && echo x > /v/base/marker')
    const refused = await exited(await create({volume}))
    expect(refused.code).to.equal(1)
    expect(refused.logs).to.include('holds PG_VERSION but initdb never finished there (global/pg_control is missing)')
    expect(refused.logs).to.include('STACKCTL_SET_ASIDE_INCOMPLETE=1')
    expect(refused.logs).to.not.match(/(remove|delete) the volume|volume rm|--volumes/i)
    expect(await entries(volume)).to.deep.equal(['PG_VERSION', 'base', 'global'])

    const db = await start({volume, env: [...VISITS_ENV, 'STACKCTL_SET_ASIDE_INCOMPLETE=1']})
    expect(await query(db.port, 'SELECT current_database()')).to.equal('visits')
    const aside = (await entries(volume)).filter((name) => name.startsWith('.stackctl-set-aside.'))
    expect(aside).to.have.length(1)
    expect(await inVolume(volume, `cat /v/${aside[0]}/PG_VERSION /v/${aside[0]}/base/marker`)).to.equal('17\nx\n')
  })

  it('creates a POSTGRES_DB that an interrupted older initialisation never created, and opens TCP again', async () => {
    const volume = await newVolume()
    const first = await start({volume, env: BASE_ENV}, 'postgres')
    await docker.getContainer(first.name).stop({t: 30})
    // An older image stopped right after initdb: no visits database, no lines opening the server to TCP.
    await inVolume(
      volume,
      "sed -i '/# Added by docker-entrypoint.sh/,+1d' /v/postgresql.conf /v/pg_hba.conf && ! grep -q '^listen_addresses' /v/postgresql.conf",
    )

    const second = await start({volume})
    expect(await query(second.port, 'SELECT current_database()')).to.equal('visits')
    const logs = await engine.containers.logTail(second.name, 500)
    expect(logs).to.include("stopped before it created 'visits'")
    expect(logs).to.include("created database 'visits'")
  })
})
