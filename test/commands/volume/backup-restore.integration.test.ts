/**
 * stackctl volume backup / restore against the real engine: one stack for the file. A backup survives the
 * volume being deleted; broken or foreign backups are refused and leave the data exactly as it was.
 */
import {expect} from 'chai'
import {createHash} from 'node:crypto'
import {
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {finished} from 'node:stream/promises'

import {StackctlError} from '../../../src/lib/errors.js'
import {loadStack} from '../../../src/lib/stack/context.js'
import {partialName} from '../../../src/lib/operations/backup-restore/backup-file.js'
import {restoreVolume} from '../../../src/lib/operations/backup-restore/restore.js'
import {freePort, runCli, type CliResult, NO_WAL_ARCHIVE} from '../../helpers/cli.js'
import {docker, engine, engines, psqlIn, removeComposeProject, uniqueName} from '../../helpers/docker.js'

describe('volume backup and restore (integration)', function () {
  this.timeout(600_000)
  const project = uniqueName('vol-backup')
  const volume = `${project}_postgres_data`
  const dir = mkdtempSync(path.join(tmpdir(), 'stackctl-vol-backup-'))
  const scratch = mkdtempSync(path.join(tmpdir(), 'stackctl-vol-files-'))
  let port: number
  let backup: {
    file: string
    record: string
    visits: number
    pgMajor: number
    bytes: number
    sha256: string
    createdAt: string
  }

  function cli(...args: string[]): Promise<CliResult> {
    return runCli([...args, '--dir', dir, '--project-name', project], {env: {STACKCTL_IMAGE_SOURCE: 'local'}})
  }

  async function up(): Promise<void> {
    // This file's subject is not WAL archiving (on by default): its stacks run without it (NO_WAL_ARCHIVE).
    const result = await cli('up', NO_WAL_ARCHIVE, '--port', String(port))
    expect(result.exitCode, result.stderr).to.equal(0)
  }

  async function visit(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const response = await fetch(`http://127.0.0.1:${port}/`)
      expect(response.status).to.equal(200)
      await response.body?.cancel()
    }
  }

  const sql = (query: string, database = 'visits') => psqlIn(project, query, database)

  const visitIds = () => sql("SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM visits")
  const databases = () => sql("SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database", 'postgres')

  /** GET / until the API answers 200 (it reconnects after a swap): the body. */
  async function visitAfterSwap(): Promise<{visits: number; visit: {id: number}}> {
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline) {
      const response = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined)
      if (response?.status === 200) return (await response.json()) as {visits: number; visit: {id: number}}
      await response?.body?.cancel()
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    throw new Error('the API did not answer 200 within 30 s')
  }

  /** A custom-format dump (pg_dump -Fc in the db container) of a scratch database made by `setup`, then dropped. */
  async function dumpScratch(name: string, setup: string): Promise<string> {
    await sql(`CREATE DATABASE ${name}`, 'postgres')
    const file = path.join(scratch, `${name}.dump`)
    try {
      await sql(setup, name)
      const [db] = await docker.listContainers({
        filters: {label: [`com.docker.compose.project=${project}`, 'com.docker.compose.service=db']},
      })
      const out = createWriteStream(file)
      const dump = await engine.containers.exec(db.Id, ['pg_dump', '-Fc', '-U', 'postgres', '-d', name], {stdout: out})
      await finished(out)
      expect(dump.exitCode, dump.stderr).to.equal(0)
    } finally {
      await sql(`DROP DATABASE ${name}`, 'postgres')
    }
    return file
  }

  const TRACKER_TABLES =
    'CREATE TABLE visits (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, visited_at timestamptz NOT NULL DEFAULT now())'
  const COUNTER_TABLE = 'CREATE TABLE visit_counter (shard smallint PRIMARY KEY, n bigint NOT NULL CHECK (n >= 0))'

  /** Runs a restore that must be refused, and checks that nothing changed. */
  async function expectRefused(args: string[], exitCode: number, message: RegExp): Promise<CliResult> {
    const idsBefore = await visitIds()
    const databasesBefore = await databases()
    const result = await cli('volume', 'restore', ...args)
    expect(result.exitCode, result.stderr).to.equal(exitCode)
    expect(result.stderr).to.match(message)
    expect(await visitIds()).to.equal(idsBefore)
    expect(await databases()).to.equal(databasesBefore) // no temporary database left behind
    return result
  }

  before(async () => {
    port = await freePort()
  })

  after(async () => {
    try {
      await removeComposeProject(project)
    } finally {
      rmSync(dir, {recursive: true, force: true})
      rmSync(scratch, {recursive: true, force: true})
    }
  })

  it('refuses to back up a stack that is not running and suggests stackctl up', async () => {
    const result = await cli('volume', 'backup')
    expect(result.exitCode).to.equal(1)
    expect(result.stderr).to.include(`the stack '${project}' is not running`)
    expect(result.stderr).to.include('stackctl up')
  })

  it('backs up the running database to the default file with a record, showing progress', async () => {
    await up()
    await visit(25)
    const result = await cli('volume', 'backup')
    expect(result.exitCode, result.stderr).to.equal(0)
    expect(result.stderr).to.match(/backup: [\d.]+ (B|KiB|MiB) written/)
    expect(result.stderr).to.match(/^✔ check the stack and the target file \([\d.]+ s\)\n/m)
    expect(result.stderr).to.match(/^✔ dump the database \(pg_dump\) \([\d.]+ s\)$/m)
    const file = /to (\S+\.dump)$/m.exec(result.stdout)?.[1] ?? ''
    expect(result.stdout).to.include('backed up 25 visits (PostgreSQL 17')
    expect(path.dirname(file)).to.equal(path.join(dir, 'backups'))
    expect(path.basename(file)).to.match(new RegExp(`^${project}-pg17-\\d{8}T\\d{6}Z\\.dump$`))
    const bytes = readFileSync(file)
    expect(bytes.subarray(0, 5).toString()).to.equal('PGDMP') // pg_dump custom format
    const record = JSON.parse(readFileSync(`${file}.json`, 'utf8'))
    expect(record).to.include({
      format: 'stackctl-backup/2',
      schemaVersion: 1,
      pgMajor: 17,
      visits: 25,
      project,
      volume,
      database: 'visits',
      bytes: bytes.length,
    })
    expect(record.sha256).to.equal(createHash('sha256').update(bytes).digest('hex'))
    expect(Number.isNaN(Date.parse(record.createdAt))).to.equal(false)
    backup = {...record, file, record: `${file}.json`}
  })

  it('never overwrites an existing file', async () => {
    const before = readFileSync(backup.file)
    const result = await cli('volume', 'backup', backup.file)
    expect(result.exitCode).to.equal(2)
    expect(result.stderr).to.include('already exists')
    expect(readFileSync(backup.file).equals(before)).to.equal(true)
  })

  it('refuses a target that is a symbolic link and writes nothing through it', async () => {
    const victim = path.join(scratch, 'victim.dump')
    const link = path.join(scratch, 'link.dump')
    symlinkSync(victim, link)
    const result = await cli('volume', 'backup', link)
    expect(result.exitCode).to.equal(2)
    expect(result.stderr).to.include(`Error: ${link} is a symbolic link`)
    expect(result.stderr).to.include('Hint: choose a path that does not exist yet')
    expect(existsSync(victim)).to.equal(false)
    expect(readdirSync(scratch).filter((entry) => entry.includes('.partial'))).to.deep.equal([])
  })

  it('is not blocked by the partial file of a backup that was killed, and removes it', async () => {
    const target = path.join(scratch, 'after-kill.dump')
    const stale = partialName(target, 2 ** 22 + 1, 'deadbeef') // above any pid the kernel hands out by default
    writeFileSync(stale, 'PGDMP half a dump')
    const result = await cli('volume', 'backup', target)
    expect(result.exitCode, result.stderr).to.equal(0)
    expect(result.stderr).to.include(`backup: removed ${stale}, left by a backup that was killed`)
    expect(existsSync(stale)).to.equal(false)
    expect(readFileSync(target).subarray(0, 5).toString()).to.equal('PGDMP')
  })

  it('refuses to restore without a terminal and without --force, changing nothing', async () => {
    await visit(3)
    const result = await expectRefused([backup.file], 2, /refusing to replace the data in volume/)
    expect(result.stderr).to.include('--force')
  })

  it('rejects a dump truncated in its data (no record) with a clear error, leaving the data untouched', async () => {
    const truncated = path.join(scratch, 'truncated.dump')
    const bytes = readFileSync(backup.file)
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 10)) // its table of contents is intact
    await expectRefused([truncated, '--force'], 1, /could not be restored.*end of file/s)
  })

  it('rejects a dump cut inside its header before restoring anything', async () => {
    const cut = path.join(scratch, 'cut.dump')
    writeFileSync(cut, readFileSync(backup.file).subarray(0, 100))
    await expectRefused([cut, '--force'], 1, /is not a readable pg_dump archive \(truncated or corrupted\)/)
  })

  it('rejects a truncated dump whose record no longer matches it', async () => {
    const truncated = path.join(scratch, 'recorded.dump')
    const bytes = readFileSync(backup.file)
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 10))
    copyFileSync(backup.record, `${truncated}.json`)
    await expectRefused([truncated, '--force'], 1, /does not match its record.*truncated or was modified/s)
  })

  it('refuses a backup recorded as another PostgreSQL major without --force', async () => {
    const foreign = path.join(scratch, 'pg15.dump')
    copyFileSync(backup.file, foreign)
    const record = JSON.parse(readFileSync(backup.record, 'utf8'))
    writeFileSync(`${foreign}.json`, JSON.stringify({...record, pgMajor: 15}))
    const result = await expectRefused([foreign], 2, /is a backup of PostgreSQL 15; the stack runs PostgreSQL 17/)
    expect(result.stderr).to.include('--force')
  })

  it('reads the major from the dump header when there is no record, and refuses another one', async () => {
    const foreign = path.join(scratch, 'header15.dump')
    const bytes = Buffer.from(readFileSync(backup.file))
    const at = bytes.indexOf('17.') // the first version string in the header is the server's
    expect(at).to.be.greaterThan(0)
    bytes.write('15.', at)
    writeFileSync(foreign, bytes)
    const result = await expectRefused([foreign], 2, /is a backup of PostgreSQL 15/)
    expect(result.stderr).to.include(
      "PostgreSQL 15, created at an unknown time (from the dump's header; there is no record)",
    )
  })

  it('refuses, even with --force, a dump of an unrelated database that has a visits table, saying what it found', async () => {
    const foreign = await dumpScratch(
      'scratch_foreign',
      "CREATE TABLE visits (name text, secret text); INSERT INTO visits VALUES ('alice', 's3cret')",
    )
    const result = await expectRefused(
      [foreign, '--force'],
      1,
      /Error: \S+ is not a visit-tracker backup: visits has columns name text, secret text; expected id bigint, visited_at timestamptz\n/,
    )
    expect(result.stderr).to.match(
      /Hint: restore a backup made by stackctl volume backup; the current data was not changed/,
    )
    const response = await fetch(`http://127.0.0.1:${port}/visits?limit=1`) // the API still serves the live data
    expect(response.status).to.equal(200)
    await response.body?.cancel()
  })

  it('refuses a backup whose restored visits differ from its record, leaving the data untouched', async () => {
    const miscounted = path.join(scratch, 'miscounted.dump')
    copyFileSync(backup.file, miscounted)
    const record = JSON.parse(readFileSync(backup.record, 'utf8'))
    writeFileSync(`${miscounted}.json`, JSON.stringify({...record, visits: 26}))
    await expectRefused([miscounted, '--force'], 1, /miscounted\.dump holds 25 visits, but its record says 26/)
  })

  it('refuses a record it cannot read rather than ignoring it', async () => {
    const newer = path.join(scratch, 'newer.dump')
    copyFileSync(backup.file, newer)
    const record = JSON.parse(readFileSync(backup.record, 'utf8'))
    writeFileSync(`${newer}.json`, JSON.stringify({...record, format: 'stackctl-backup/3'}))
    await expectRefused(
      [newer, '--force'],
      1,
      /newer\.dump\.json is not a usable backup record: its format stackctl-backup\/3 is newer than this stackctl reads/,
    )
  })

  it('brings every visit back after the volume was deleted: backup → down --volumes → up → restore', async () => {
    await visit(7)
    const fresh = await cli('volume', 'backup', path.join(scratch, 'before-delete.dump'), '--json')
    expect(fresh.exitCode, fresh.stderr).to.equal(0)
    const saved = JSON.parse(fresh.stdout)
    expect(saved).to.include({file: path.join(scratch, 'before-delete.dump'), pgMajor: 17, project, volume})
    expect(saved.record).to.equal(`${saved.file}.json`)
    expect(saved.bytes).to.equal(statSync(saved.file).size)
    const idsBefore = await visitIds()
    expect(idsBefore.split(',')).to.have.length(35)
    expect(saved.visits).to.equal(35)

    const down = await cli('down', '--volumes', '--force')
    expect(down.exitCode, down.stderr).to.equal(0)
    await up()
    expect(await visitIds()).to.equal('')

    const restore = await cli('volume', 'restore', saved.file, '--force', '--json')
    expect(restore.exitCode, restore.stderr).to.equal(0)
    const result = JSON.parse(restore.stdout)
    expect(result).to.include({volume, database: 'visits', serverPgMajor: 17, visitsBefore: 0, visits: 35})
    expect(result.backup).to.deep.include({pgMajor: 17, visits: 35, source: 'record'})
    expect(result.previous.dropped).to.equal(true)
    expect(await visitIds()).to.equal(idsBefore)
    expect(await databases()).to.equal('postgres,template0,template1,visits')

    // The API reconnects by itself and carries on from the restored data.
    const deadline = Date.now() + 30_000
    let body: {visits?: number} = {}
    while (Date.now() < deadline) {
      const response = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined)
      if (response?.status === 200) {
        body = (await response.json()) as {visits: number}
        break
      }
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    expect(body.visits).to.equal(36)
  })

  it('asks to type the volume name, showing the visits now and in the backup; another answer changes nothing', async () => {
    // The command passes confirmByTyping when it has a terminal; here the domain function gets a stand-in.
    const ctx = await loadStack({dir, project}, {engines})
    const asked: string[] = []
    const idsBefore = await visitIds()
    const refused = await restoreVolume(ctx, {
      file: backup.file,
      confirm: async (question, expected) => {
        asked.push(question, expected)
        return false
      },
    }).catch((error: unknown) => error)
    expect(refused).to.be.instanceOf(StackctlError).and.include({exitCode: 1})
    expect(String(refused)).to.include(`not confirmed: volume ${volume} was not changed`)
    expect(asked[0])
      .to.include(`volume ${volume} (36 visits now)`)
      .and.include(`(25 visits, project ${project}, created ${backup.createdAt})`)
    expect(asked[1]).to.equal(volume)
    expect(await visitIds()).to.equal(idsBefore)

    const restored = await restoreVolume(ctx, {file: backup.file, confirm: async () => true})
    expect(restored).to.include({visitsBefore: 36, visits: 25})
  })

  it('restores a dump that has no record, reading its version from the header', async () => {
    const bare = path.join(scratch, 'bare.dump')
    copyFileSync(backup.file, bare)
    expect(existsSync(`${bare}.json`)).to.equal(false)
    const restore = await cli('volume', 'restore', bare, '--force', '--json')
    expect(restore.exitCode, restore.stderr).to.equal(0)
    const result = JSON.parse(restore.stdout)
    expect(result.backup).to.deep.equal({
      project: null,
      trackerSchemaVersion: null,
      pgMajor: 17,
      visits: null,
      createdAt: null,
      source: 'header',
    })
    expect(result.visits).to.equal(25)
    expect(await visitIds()).to.equal(Array.from({length: 25}, (_, i) => i + 1).join(','))
    expect(statSync(bare).size).to.equal(backup.bytes)
  })
  /** The app container's start time and restart count: a crash and restart changes them. */
  async function appStarts(): Promise<string> {
    const [app] = await docker.listContainers({
      filters: {label: [`com.docker.compose.project=${project}`, 'com.docker.compose.service=app']},
    })
    const info = await docker.getContainer(app.Id).inspect()
    return `${info.State.StartedAt} restarts=${info.RestartCount}`
  }

  it('swaps the database in while the API is serving, which carries on by itself', async () => {
    const started = await appStarts()
    let running = true
    const statuses: number[] = []
    const load = Array.from({length: 4}, async () => {
      while (running) {
        const response = await fetch(`http://127.0.0.1:${port}/`)
        statuses.push(response.status)
        await response.body?.cancel()
      }
    })
    try {
      await new Promise((resolve) => setTimeout(resolve, 300))
      const restore = await cli('volume', 'restore', backup.file, '--force', '--json')
      expect(restore.exitCode, restore.stderr).to.equal(0)
      expect(JSON.parse(restore.stdout).visits).to.equal(25)
      await new Promise((resolve) => setTimeout(resolve, 1000))
    } finally {
      running = false
      await Promise.all(load)
    }
    expect(statuses.length).to.be.greaterThan(10)
    expect([...new Set(statuses)].filter((status) => status !== 200 && status !== 503)).to.deep.equal([])
    expect(statuses.at(-1)).to.equal(200)
    // The same process served throughout: the connections the swap ended did not crash it into a restart.
    expect(await appStarts()).to.equal(started)
    const ids = (await visitIds()).split(',').map(Number)
    expect(ids.slice(0, 25)).to.deep.equal(Array.from({length: 25}, (_, i) => i + 1))
  })
  it('restores a dump without visit_counter by building the counter from count(*); the API counts on at once', async () => {
    const file = await dumpScratch(
      'scratch_nocounter',
      `${TRACKER_TABLES}; INSERT INTO visits (visited_at) SELECT now() FROM generate_series(1, 7)`,
    )
    const restore = await cli('volume', 'restore', file, '--force')
    expect(restore.exitCode, restore.stderr).to.equal(0)
    expect(restore.stdout).to.include(`into volume ${volume}: 7 visits`)
    expect(restore.stdout).to.include('visit_counter was rebuilt from count(*): the backup has no visit_counter table')
    expect(restore.stderr).to.include('restore: rebuilt visit_counter from count(*) = 7')
    const steps = [...restore.stderr.matchAll(/^✔ (.+) \([\d.]+ s\)$/gm)].map((m) => m[1])
    expect(steps).to.deep.equal([
      'read the backup',
      'restore into a temporary database (pg_restore)',
      'check the restored data',
      'swap it in',
    ])
    const body = await visitAfterSwap()
    expect(body.visits).to.equal(8)
    expect(await sql('SELECT count(*) || ' + "'/'" + ' || (SELECT sum(n) FROM visit_counter) FROM visits')).to.equal(
      '8/8',
    )
  })

  it('rebuilds a counter that does not add up and moves an identity that fell behind, saying so', async () => {
    const file = await dumpScratch(
      'scratch_badcounter',
      `${TRACKER_TABLES}; ${COUNTER_TABLE}; ` +
        'INSERT INTO visits (visited_at) SELECT now() FROM generate_series(1, 4); ' +
        'INSERT INTO visits (id, visited_at) OVERRIDING SYSTEM VALUE VALUES (100, now()); ' +
        'INSERT INTO visit_counter SELECT s, 1 FROM generate_series(0, 7) AS s',
    )
    const restore = await cli('volume', 'restore', file, '--force', '--json')
    expect(restore.exitCode, restore.stderr).to.equal(0)
    const result = JSON.parse(restore.stdout)
    expect(result.counter).to.deep.equal({rebuilt: true, reason: 'visit_counter adds up to 8, but visits holds 5 rows'})
    expect(result.repairs).to.deep.equal([
      'rebuilt visit_counter from count(*) = 5 (visit_counter adds up to 8, but visits holds 5 rows)',
      'moved the id sequence past the highest id 100 (it was behind)',
    ])
    const body = await visitAfterSwap()
    expect(body).to.deep.include({visits: 6})
    expect(body.visit.id).to.equal(101)
    expect(await sql("SELECT string_agg(shard || ':' || n, ',') FROM visit_counter")).to.equal('0:6')
  })

  it('restores a backup of an earlier stackctl (counter over 16 shard rows) by folding them into one', async () => {
    const file = await dumpScratch(
      'scratch_sixteen',
      `${TRACKER_TABLES}; ${COUNTER_TABLE}; ` +
        'INSERT INTO visits (visited_at) SELECT now() FROM generate_series(1, 20); ' +
        'INSERT INTO visit_counter SELECT s, CASE WHEN s < 4 THEN 5 ELSE 0 END FROM generate_series(0, 15) AS s',
    )
    const restore = await cli('volume', 'restore', file, '--force', '--json')
    expect(restore.exitCode, restore.stderr).to.equal(0)
    expect(JSON.parse(restore.stdout).counter).to.deep.equal({
      rebuilt: true,
      reason: 'visit_counter is spread over 16 shard rows (the layout of an earlier stackctl); folded into shard 0',
    })
    expect((await visitAfterSwap()).visits).to.equal(21)
    expect(await sql("SELECT string_agg(shard || ':' || n, ',') FROM visit_counter")).to.equal('0:21')
  })
})
