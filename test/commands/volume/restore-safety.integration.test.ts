/**
 * volume restore and the live database's safety, against the real engine (issue 21, items 1 and 2):
 * - a stack whose data volume is a small filesystem (a tmpfs volume, adopted), holding 100,000 visits: a
 *   restore that does not fit is refused with the numbers before anything changes, and one whose estimate was
 *   wrong is stopped while a reserve is still free, so the live server never runs out of room for its WAL;
 * - a stack on an ordinary volume: SIGKILL of the CLI the moment `visits` is closed for the swap leaves the old
 *   data or the new, never a closed database; a closed `visits` and temporary databases left by hand (as an
 *   older stackctl's killed restore left them) are reported by status and doctor and repaired by up.
 */
import {expect} from 'chai'
import {randomBytes} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {freePort, runCli, spawnCli, type CliResult, NO_WAL_ARCHIVE} from '../../helpers/cli.js'
import {docker, engine, psqlIn, removeComposeProject} from '../../helpers/docker.js'

const MiB = 1024 * 1024
const LIVE_VISITS = 100_000
const BACKUP_VISITS = 300_000
const env = {STACKCTL_IMAGE_SOURCE: 'local'}
const scratch = mkdtempSync(path.join(tmpdir(), 'stackctl-restore-safety-'))

/** One stack of the file: its CLI, SQL, API and db container. */
function stack(name: string) {
  const project = `i21r-${name}-${randomBytes(4).toString('hex')}`
  const dir = mkdtempSync(path.join(tmpdir(), `stackctl-${name}-`))
  const where = ['--dir', dir, '--project-name', project]
  let port = 0
  const s = {
    project,
    dir,
    where,
    volume: `${project}_postgres_data`,
    cli: (...args: string[]): Promise<CliResult> => runCli([...args, ...where], {env}),
    sql: (query: string, database = 'visits') => psqlIn(project, query, database),
    async dbId(): Promise<string> {
      const [db] = await docker.listContainers({
        filters: {label: [`com.docker.compose.project=${project}`, 'com.docker.compose.service=db']},
      })
      return db.Id
    },
    async exec(cmd: string[]): Promise<string> {
      const result = await engine.containers.exec(await s.dbId(), cmd)
      if (result.exitCode !== 0) throw new Error(`${cmd.join(' ')} failed: ${result.stderr}`)
      return result.stdout.trim()
    },
    async up(...extra: string[]): Promise<CliResult> {
      port ||= await freePort()
      // This file's subject is not WAL archiving (on by default): its stacks run without it (NO_WAL_ARCHIVE).
      const result = await s.cli('up', NO_WAL_ARCHIVE, '--port', String(port), ...extra)
      expect(result.exitCode, result.stderr).to.equal(0)
      return result
    },
    /** Visits and a checksum of their ids and times. */
    checksum: () =>
      s.sql("SELECT count(*) || ':' || md5(string_agg(id::text || visited_at::text, ',' ORDER BY id)) FROM visits"),
    databases: () => s.sql("SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database", 'postgres'),
    restarts: async () => (await docker.getContainer(await s.dbId()).inspect()).RestartCount,
    /** The checkpointer is restarted when PostgreSQL resets after a crash (a PANIC included). */
    checkpointer: () => s.sql("SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'", 'postgres'),
    /** GET / on a new connection until it answers 200: the body. */
    async visit(): Promise<{visits: number}> {
      const deadline = Date.now() + 60_000
      for (;;) {
        const response = await fetch(`http://127.0.0.1:${port}/`, {headers: {connection: 'close'}}).catch(
          () => undefined,
        )
        if (response?.status === 200) return (await response.json()) as {visits: number}
        await response?.body?.cancel()
        if (Date.now() > deadline) throw new Error(`GET / did not answer 200 (last: ${response?.status})`)
        await new Promise((resolve) => setTimeout(resolve, 250))
      }
    },
    /** Grows visits to `count` rows (ids 1..count on a fresh table) and sets the counter to match. */
    grow: (count: number) =>
      s.sql(
        `INSERT INTO visits (visited_at) SELECT now() - g * interval '1 second' FROM generate_series(1, ${count}) AS g; ` +
          'UPDATE visit_counter SET n = CASE WHEN shard = 0 THEN (SELECT count(*) FROM visits) ELSE 0 END',
      ),
    /** Fills the data volume with a file until `left` bytes are free (replacing an earlier ballast). */
    async leaveFree(left: number): Promise<number> {
      await s.exec([
        'sh',
        '-c',
        'rm -f "$PGDATA/ballast"; a=$(df -B1 --output=avail "$PGDATA" | tail -1); fallocate -l $((a - $1)) "$PGDATA/ballast"',
        'sh',
        String(left),
      ])
      return Number((await s.exec(['sh', '-c', 'df -B1 --output=avail "$PGDATA" | tail -1'])).trim())
    },
    async remove(): Promise<void> {
      try {
        await removeComposeProject(project)
        await docker
          .getVolume(`${project}_postgres_data`)
          .remove({force: true})
          .catch(() => {})
      } finally {
        rmSync(dir, {recursive: true, force: true})
      }
    },
  }
  return s
}

/** Waits until `probe` answers something truthy. */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await probe()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

describe('volume restore: room for the live database, and a kill during the swap (integration)', function () {
  this.timeout(900_000)
  const small = stack('small')
  const plain = stack('plain')
  const bigDump = path.join(scratch, 'b300.dump')
  /** The same dump with an older-format record that undercounts it: an estimate that is wrong. */
  const liedDump = path.join(scratch, 'lied.dump')
  let bigChecksum: string

  before(async () => {
    // The small stack: its data volume is a 400 MiB tmpfs, adopted. The stack directory first (render), so the
    // volume is not taken for one whose password file went missing.
    const render = await small.cli('render')
    expect(render.exitCode, render.stderr).to.equal(0)
    await docker.createVolume({
      Name: small.volume,
      Driver: 'local',
      DriverOpts: {type: 'tmpfs', device: 'tmpfs', o: 'size=400m'},
    })
    await small.up('--adopt')
    expect(await small.exec(['sh', '-c', 'stat -f -c %T "$PGDATA"'])).to.equal('tmpfs')
    // 300,000 visits backed up, then cut to the first 100,000 (compacted, so the row size measured is true).
    await small.grow(BACKUP_VISITS)
    bigChecksum = await small.checksum()
    const backup = await small.cli('volume', 'backup', bigDump)
    expect(backup.exitCode, backup.stderr).to.equal(0)
    await small.sql(
      `DELETE FROM visits WHERE id > ${LIVE_VISITS}; ` +
        'UPDATE visit_counter SET n = CASE WHEN shard = 0 THEN (SELECT count(*) FROM visits) ELSE 0 END',
    )
    await small.sql('VACUUM FULL visits')
    await small.sql('CHECKPOINT', 'postgres')
    const record = JSON.parse(readFileSync(`${bigDump}.json`, 'utf8'))
    expect(record.visits).to.equal(BACKUP_VISITS)
    writeFileSync(liedDump, readFileSync(bigDump))
    const {schemaVersion: _schema, ...older} = record
    writeFileSync(`${liedDump}.json`, JSON.stringify({...older, format: 'stackctl-backup/1', visits: 1}))
  })

  after(async () => {
    try {
      await Promise.all([small.remove(), plain.remove()])
    } finally {
      rmSync(scratch, {recursive: true, force: true})
    }
  })

  describe('on a nearly full volume', () => {
    it('refuses a restore that does not fit, with the numbers, before anything changes', async () => {
      const free = await small.leaveFree(12 * MiB)
      expect(free).to.be.within(11 * MiB, 13 * MiB)
      const before = await small.checksum()
      expect(before).to.match(new RegExp(`^${LIVE_VISITS}:`))
      const databases = await small.databases()
      const restarts = await small.restarts()
      const checkpointer = await small.checkpointer()

      const restore = await small.cli('volume', 'restore', bigDump, '--force')
      expect(restore.exitCode, restore.stderr).to.equal(2)
      expect(restore.stderr).to.match(
        new RegExp(
          `Error: not enough space in volume ${small.volume} to restore: it needs about [\\d.]+ MiB \\(the restored copy [\\d.]+ MiB \\[300000 visits × \\d+ bytes \\(as stored now\\) \\+ 25%\\], its WAL [\\d.]+ MiB, a reserve of 64\\.0 MiB kept free for the live database\\), 1[123]\\.\\d+ MiB is free\\n`,
        ),
      )
      expect(restore.stderr).to.include('the current data was not changed')
      expect(restore.stderr).not.to.match(/temporary database|truncated|corrupted/)

      expect(await small.checksum()).to.equal(before)
      expect(await small.databases()).to.equal(databases)
      expect(await small.restarts()).to.equal(restarts)
      expect(await small.checkpointer()).to.equal(checkpointer)
      expect((await small.visit()).visits).to.equal(LIVE_VISITS + 1)
      const doctor = await small.cli('doctor')
      expect(doctor.exitCode, doctor.stdout).to.equal(0)
    })

    it('stops a restore whose estimate was wrong while the reserve is still free; the live server does not PANIC', async () => {
      await small.leaveFree(82 * MiB) // the lied record's estimate (about 79 MiB) fits; 300,000 visits do not
      const before = await small.checksum()
      const databases = await small.databases()
      const restarts = await small.restarts()
      const checkpointer = await small.checkpointer()

      const restore = await small.cli('volume', 'restore', liedDump, '--force')
      expect(restore.exitCode, restore.stderr).to.equal(1)
      expect(restore.stderr).to.match(/restore: room: about [\d.]+ MiB needed with the reserve, 8[123]\.\d+ MiB free\n/)
      expect(restore.stderr).to.match(
        /Error: the volume ran out of space during the restore: [\d.]+ MiB free, under the reserve of 64\.0 MiB kept for the live database \(8[123]\.\d+ MiB was free before\), so the restore was stopped/,
      )
      expect(restore.stderr).to.match(
        /Hint: make room on the filesystem that holds the volume, then try again; the current data was not changed\n/,
      )
      expect(restore.stderr).not.to.match(/truncated|corrupted|by hand/)
      // Whether the watch saw it while pg_restore ran or just after it ended, the copy is gone and the live data kept.
      console.log(
        `      (stopped ${/stopping pg_restore/.test(restore.stderr) ? 'while pg_restore ran' : 'after pg_restore ended'})`,
      )

      expect(await small.databases()).to.equal(databases)
      expect(await small.checksum()).to.equal(before)
      expect(await small.restarts()).to.equal(restarts)
      expect(await small.checkpointer()).to.equal(checkpointer)
      const logs = await docker.getContainer(await small.dbId()).logs({stdout: true, stderr: true})
      expect(logs.toString()).not.to.match(/PANIC|No space left on device/)
      expect((await small.visit()).visits).to.equal(LIVE_VISITS + 2)
      const doctor = await small.cli('doctor')
      expect(doctor.exitCode, doctor.stdout).to.equal(0)
    })

    it('(control) the same restore with room goes through', async () => {
      await small.exec(['sh', '-c', 'rm -f "$PGDATA/ballast"'])
      const restore = await small.cli('volume', 'restore', liedDump, '--force')
      expect(restore.exitCode, restore.stderr).to.equal(0)
      expect(await small.checksum()).to.equal(bigChecksum)
    })
  })

  describe('a restore killed during the swap', () => {
    before(async () => {
      await plain.up()
      await plain.grow(LIVE_VISITS)
    })

    const leftoverSql = "SELECT string_agg(datname || ':' || datallowconn, ',' ORDER BY datname) FROM pg_database"

    it('SIGKILL the moment visits is closed: the swap still ends with the new data, nothing left closed', async () => {
      const before = await plain.checksum()
      expect(before).to.match(new RegExp(`^${LIVE_VISITS}:`))
      const run = spawnCli(['volume', 'restore', bigDump, '--force', ...plain.where], {env})
      // Server-side, in one session: returns within a millisecond of visits being closed to new sessions.
      const closed = plain.sql(
        `DO $w$ BEGIN LOOP EXIT WHEN EXISTS (SELECT 1 FROM pg_database WHERE datname = 'visits' AND NOT datallowconn); PERFORM pg_sleep(0.001); END LOOP; END $w$`,
        'postgres',
      )
      const ended = await Promise.race([closed.then(() => 'closed'), run.result.then(() => 'ended')])
      expect(ended, run.output.stderr).to.equal('closed')
      run.child.kill('SIGKILL')
      const killed = await run.result
      expect(killed.exitCode).to.equal(128)
      expect(killed.stderr).to.include('restore: swapping')
      expect(killed.stdout).not.to.match(/^restored /m) // killed before it could say so

      // The swap runs on in the db container: wait for its session to end.
      await waitFor('the swap to end', async () =>
        (await plain.sql(
          "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'stackctl-restore-swap'",
          'postgres',
        )) === '0'
          ? true
          : undefined,
      )
      expect(await plain.checksum()).to.equal(bigChecksum)
      expect(await plain.sql(leftoverSql, 'postgres')).to.equal(
        'postgres:true,template0:false,template1:true,visits:true',
      )
      const status = await plain.cli('status', '--json')
      expect(status.exitCode, status.stderr).to.equal(0)
      expect(JSON.parse(status.stdout).compose.problems).to.deep.equal([])
      const doctor = await plain.cli('doctor')
      expect(doctor.exitCode, doctor.stdout).to.equal(0)
      expect(doctor.stdout).to.match(/ok {4}restore {4}nothing left by a killed volume restore/)
      expect((await plain.visit()).visits).to.equal(BACKUP_VISITS + 1)
    })

    it('reports a visits left closed and temporary databases left by hand, and up (after down) repairs them as printed', async () => {
      const before = await plain.checksum()
      const copy = 'visits_restore_20250102t030405z_1a2b'
      const replaced = 'visits_old_20250102t030405z_1a2b'
      await plain.sql(`CREATE DATABASE ${copy}`, 'postgres')
      await plain.sql(`CREATE DATABASE ${replaced}`, 'postgres')
      await plain.sql('CREATE TABLE keep_me AS SELECT 42 AS answer', replaced)
      await plain.sql(`ALTER DATABASE ${replaced} ALLOW_CONNECTIONS false`, 'postgres')
      await plain.sql('ALTER DATABASE visits ALLOW_CONNECTIONS false', 'postgres')

      const status = await plain.cli('status', '--json')
      expect(status.exitCode, status.stderr).to.equal(0)
      const problems: string[] = JSON.parse(status.stdout).compose.problems
      const up = `stackctl up --dir ${plain.dir} --project-name ${plain.project}`
      expect(problems).to.include.members([
        `database 'visits' refuses new connections, left so by a volume restore that was killed (up opens it again; no data is lost): ${up}`,
        `database ${copy} is the unfinished copy of a volume restore that was killed (up drops it): ${up}`,
      ])
      expect(problems.some((p) => p.startsWith(`database ${replaced} holds data a volume restore replaced, kept`))).to
        .be.true

      const doctor = await plain.cli('doctor', '--json')
      expect(doctor.exitCode).to.equal(1)
      const check = JSON.parse(doctor.stdout).checks.find((c: {name: string}) => c.name === 'restore')
      expect(check).to.include({status: 'fail'})
      expect(check.detail).to.include("database 'visits' refuses new connections")
      const [upFix, dropFix] = check.fix.split(', then ')
      expect(upFix).to.equal(up)
      expect(dropFix).to.equal(
        `stackctl psql --dir ${plain.dir} --project-name ${plain.project} -- -c 'DROP DATABASE ${replaced}'`,
      )

      // As the issue found it: down, then up with visits still closed. The fix is run as printed.
      const down = await plain.cli('down')
      expect(down.exitCode, down.stderr).to.equal(0)
      const repaired = await runCli(upFix.split(' ').slice(1), {env})
      expect(repaired.exitCode, repaired.stderr).to.equal(0)
      expect(repaired.stderr).to.include(
        "database 'visits' refused new connections (a volume restore was killed): opened it again",
      )
      expect(repaired.stderr).to.include(
        `dropped database ${copy}, the unfinished copy of a volume restore that was killed`,
      )
      expect(repaired.stderr).to.include(`kept database ${replaced}: data a volume restore replaced`)

      expect(await plain.sql(leftoverSql, 'postgres')).to.equal(
        `postgres:true,template0:false,template1:true,visits:true,${replaced}:true`,
      )
      expect(await plain.sql('SELECT answer FROM keep_me', replaced)).to.equal('42')
      expect(await plain.checksum()).to.equal(before)
      expect((await plain.visit()).visits).to.equal(BACKUP_VISITS + 2)
      const after = await plain.cli('doctor', '--json')
      const warned = JSON.parse(after.stdout).checks.find((c: {name: string}) => c.name === 'restore')
      expect(warned).to.include({status: 'warn'})
      expect(after.exitCode).to.equal(0)

      // The printed drop works as printed (through a shell, as a user pastes it).
      const {spawnSync} = await import('node:child_process')
      const bin = path.resolve('bin/run.js')
      const dropped = spawnSync('sh', ['-c', dropFix.replace(/^stackctl /, `'${process.execPath}' '${bin}' `)], {
        env: {...process.env, ...env},
        encoding: 'utf8',
      })
      expect(dropped.status, dropped.stderr).to.equal(0)
      expect(await plain.databases()).to.equal('postgres,template0,template1,visits')
    })
  })
})
