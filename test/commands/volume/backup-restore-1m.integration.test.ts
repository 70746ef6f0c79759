/**
 * stackctl volume backup / restore at scale and under signals, against the real engine: one stack with
 * 1,000,000 visits for the whole file. Backups and restores of any size stream through; Ctrl-C stops
 * pg_dump / pg_restore in the db container, leaves no partial file or temporary database, keeps the stack
 * serving and exits 130; what a killed run leaves is cleaned up by the next one.
 */
import {expect} from 'chai'
import {mkdtempSync, readdirSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {Interrupted} from '../../../src/lib/errors.js'
import {loadStack} from '../../../src/lib/stack/context.js'
import {restoreVolume} from '../../../src/lib/operations/backup-restore/restore.js'
import {freePort, runCli, spawnCli, type CliResult, NO_WAL_ARCHIVE} from '../../helpers/cli.js'
import {docker, engine, engines, psqlIn, removeComposeProject, uniqueName} from '../../helpers/docker.js'

const VISITS = 1_000_000

describe('volume backup and restore of 1,000,000 visits, and interrupts (integration)', function () {
  this.timeout(600_000)
  const project = uniqueName('vol-1m')
  const dir = mkdtempSync(path.join(tmpdir(), 'stackctl-vol-1m-'))
  const scratch = mkdtempSync(path.join(tmpdir(), 'stackctl-vol-1m-files-'))
  const env = {STACKCTL_IMAGE_SOURCE: 'local'}
  const stackArgs = ['--dir', dir, '--project-name', project]
  const millionDump = path.join(scratch, 'million.dump')
  /** The backup taken with a 2M-row ballast table: big enough to be interrupted while it streams. */
  const bigDump = path.join(scratch, 'interrupted.dump')
  let port: number
  let millionChecksum: string

  const cli = (...args: string[]): Promise<CliResult> => runCli([...args, ...stackArgs], {env})
  const sql = (query: string, database = 'visits') => psqlIn(project, query, database)
  const checksum = () =>
    sql("SELECT count(*) || ':' || md5(string_agg(id::text || visited_at::text, ',' ORDER BY id)) FROM visits")
  const databases = async () => (await sql('SELECT datname FROM pg_database ORDER BY datname', 'postgres')).split('\n')
  /** The checkpointer is restarted when PostgreSQL resets after a crashed child: its pid tells. */
  const checkpointer = () => sql("SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'", 'postgres')

  /** Names of the processes running in the db container, from /proc (no ps needed). */
  async function processesInDb(): Promise<string[]> {
    const [db] = await docker.listContainers({
      filters: {label: [`com.docker.compose.project=${project}`, 'com.docker.compose.service=db']},
    })
    const result = await engine.containers.exec(db.Id, [
      'sh',
      '-c',
      'for f in /proc/[0-9]*/comm; do cat "$f"; done 2>/dev/null',
    ])
    return result.stdout.split('\n').map((line) => line.trim())
  }

  async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 60_000) {
    const deadline = Date.now() + ms
    for (;;) {
      const value = await probe()
      if (value) return value
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  /** GET / until the API answers 200 (it reconnects after a swap): the body. */
  async function visit(): Promise<{visits: number}> {
    return waitFor('GET / to answer 200', async () => {
      const response = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined)
      if (response?.status === 200) return (await response.json()) as {visits: number}
      await response?.body?.cancel()
      return undefined
    })
  }

  const leftovers = (name: string) => readdirSync(scratch).filter((entry) => entry.includes(name))

  before(async () => {
    port = await freePort()
    // This file's subject is not WAL archiving (on by default): its stacks run without it (NO_WAL_ARCHIVE).
    const up = await cli('up', NO_WAL_ARCHIVE, '--port', String(port))
    expect(up.exitCode, up.stderr).to.equal(0)
    await sql(
      `INSERT INTO visits (visited_at) SELECT now() - g * interval '1 second' FROM generate_series(1, ${VISITS}) AS g; ` +
        'UPDATE visit_counter SET n = CASE WHEN shard = 0 THEN (SELECT count(*) FROM visits) ELSE 0 END',
    )
  })

  after(async () => {
    try {
      await removeComposeProject(project)
    } finally {
      rmSync(dir, {recursive: true, force: true})
      rmSync(scratch, {recursive: true, force: true})
    }
  })

  it('backs up and restores 1,000,000 visits exactly, and the API serves the restored data without a restart', async () => {
    millionChecksum = await checksum()
    expect(millionChecksum).to.match(new RegExp(`^${VISITS}:[0-9a-f]{32}$`))
    const backup = await cli('volume', 'backup', millionDump, '--json')
    expect(backup.exitCode, backup.stderr).to.equal(0)
    const record = JSON.parse(backup.stdout)
    expect(record).to.include({format: 'stackctl-backup/2', trackerSchemaVersion: 1, visits: VISITS, project})
    expect(record.bytes)
      .to.equal(statSync(millionDump).size)
      .and.be.greaterThan(2 * 1024 * 1024)

    for (let i = 0; i < 5; i++) await visit()
    expect(await checksum()).not.to.equal(millionChecksum) // negative control: the live data moved on

    const restore = await cli('volume', 'restore', millionDump, '--force', '--json')
    expect(restore.exitCode, restore.stderr).to.equal(0)
    expect(restore.stderr).not.to.match(/EPIPE|ECONNRESET/)
    const result = JSON.parse(restore.stdout)
    expect(result).to.include({visits: VISITS, visitsBefore: VISITS + 5})
    expect(result.counter).to.deep.equal({rebuilt: false, reason: null})
    expect(result.backup).to.include({visits: VISITS, trackerSchemaVersion: 1, project, source: 'record'})
    expect(await checksum()).to.equal(millionChecksum)
    expect((await visit()).visits).to.equal(VISITS + 1)
  })

  it('Ctrl-C during a backup stops pg_dump, removes the partial file and keeps serving; the next backup works', async () => {
    await sql(
      'CREATE TABLE ballast AS SELECT md5(g::text) || md5((g * 7)::text) AS pad FROM generate_series(1, 2000000) AS g',
    )
    const crashes = await checkpointer()
    const run = spawnCli(['volume', 'backup', bigDump, ...stackArgs], {env})
    await waitFor('the dump to stream', () => /backup: [\d.]+ MiB written/.test(run.output.stderr))
    // Negative controls for the checks below: while it streams, pg_dump runs and the partial file exists.
    expect(await processesInDb()).to.include('pg_dump')
    expect(leftovers('interrupted.dump'))
      .to.have.length(1)
      .and.match(/^\.interrupted\.dump\.\d+-[0-9a-f]{8}\.partial$/)

    run.child.kill('SIGINT')
    const result = await run.result
    expect(result.exitCode, result.stderr).to.equal(130)
    expect(result.stderr).to.match(
      /Error: interrupted: backup stopped: pg_dump in the db container was stopped and the partial file \S+\.partial was removed; \S+interrupted\.dump was not written\n/,
    )
    expect(result.stderr).to.include('Hint: the stack is still running')
    expect(leftovers('interrupted.dump')).to.deep.equal([])
    const running = await processesInDb()
    expect(running).not.to.include('pg_dump')
    expect(running).not.to.include('psql')
    expect(await checkpointer()).to.equal(crashes) // PostgreSQL did not reset
    expect((await visit()).visits).to.equal(VISITS + 2)

    const again = await cli('volume', 'backup', bigDump)
    expect(again.exitCode, again.stderr).to.equal(0)
    expect(leftovers('interrupted.dump').sort()).to.deep.equal(['interrupted.dump', 'interrupted.dump.json'])
  })

  it('Ctrl-C during a restore stops pg_restore, drops the temporary database and leaves the data as it was', async () => {
    const before = await checksum()
    const databasesBefore = await databases()
    const crashes = await checkpointer()
    const run = spawnCli(['volume', 'restore', bigDump, '--force', ...stackArgs], {env})
    const temporary = await waitFor(
      'the restore to stream',
      () => /into temporary database (visits_restore_\w+)/.exec(run.output.stderr)?.[1],
    )
    // Negative controls: while it streams, the temporary database exists and pg_restore runs.
    expect(await databases()).to.include(temporary)
    expect(await processesInDb()).to.include('pg_restore')

    run.child.kill('SIGINT')
    const result = await run.result
    expect(result.exitCode, result.stderr).to.equal(130)
    expect(result.stderr).to.include(
      `the temporary database ${temporary} was dropped; volume ${project}_postgres_data still holds the data it had\n`,
    )
    expect(result.stderr).to.match(
      /Error: interrupted: restore stopped: pg_restore in the db container (was stopped|had already ended) and the temporary/,
    )
    expect(await databases()).to.deep.equal(databasesBefore)
    expect(await processesInDb()).not.to.include('pg_restore')
    expect(await checksum()).to.equal(before)
    expect(await checkpointer()).to.equal(crashes)
    expect((await visit()).visits).to.equal(VISITS + 3)
  })

  it('drops the temporary database a killed restore left behind (and only that one) at the next restore', async () => {
    await sql('CREATE DATABASE visits_restore_manual', 'postgres') // someone's own, not stackctl's naming
    const run = spawnCli(['volume', 'restore', bigDump, '--force', ...stackArgs], {env})
    const temporary = await waitFor(
      'the restore to stream',
      () => /into temporary database (visits_restore_\w+)/.exec(run.output.stderr)?.[1],
    )
    await waitFor('pg_restore to run', async () => (await processesInDb()).includes('pg_restore'))
    run.child.kill('SIGKILL')
    await run.result
    expect(await databases()).to.include(temporary) // what a killed run leaves
    // Its input closed, pg_restore ends by itself.
    await waitFor('pg_restore to end', async () => !(await processesInDb()).includes('pg_restore'))

    const next = await cli('volume', 'restore', millionDump, '--force')
    expect(next.exitCode, next.stderr).to.equal(0)
    expect(next.stderr).to.include(`restore: dropped database ${temporary}, left by a restore that was killed`)
    expect(await databases()).to.deep.equal(['postgres', 'template0', 'template1', 'visits', 'visits_restore_manual'])
    expect(await checksum()).to.equal(millionChecksum)
    await sql('DROP DATABASE visits_restore_manual', 'postgres')
  })

  it('finishes a swap that is under way when interrupted, and says the backup is now in place', async () => {
    for (let i = 0; i < 3; i++) await visit()
    expect(await checksum()).not.to.equal(millionChecksum)
    const controller = new AbortController()
    const ctx = await loadStack(
      {dir, project},
      {
        engines,
        // Ctrl-C arrives just as the swap starts.
        progress: (line) => {
          if (line.startsWith('restore: swapping')) controller.abort(new Interrupted('Ctrl-C received'))
        },
      },
    )
    const error = await restoreVolume(ctx, {file: millionDump, force: true, signal: controller.signal}).catch(
      (e: unknown) => e,
    )
    expect(controller.signal.aborted).to.equal(true)
    expect(error).to.be.instanceOf(Interrupted).and.include({exitCode: 130})
    expect((error as Error).message).to.match(
      /the restore was already swapping databases and finished that: database 'visits' in volume \S+ now holds the backup \(1000000 visits\)$/,
    )
    expect(await checksum()).to.equal(millionChecksum)
    expect(await databases()).to.deep.equal(['postgres', 'template0', 'template1', 'visits'])
    expect((await visit()).visits).to.equal(VISITS + 1)
  })

  it('(control) a process orphaned into the db container and killed by a signal resets PostgreSQL', async () => {
    // Why stackctl never signals the shell around pg_restore nor an orphan: PID 1 is the postmaster.
    const before = await checkpointer()
    const [db] = await docker.listContainers({
      filters: {label: [`com.docker.compose.project=${project}`, 'com.docker.compose.service=db']},
    })
    await engine.containers.exec(db.Id, ['sh', '-c', 'sleep 60 >/dev/null 2>&1 & exit 0'])
    await engine.containers.exec(db.Id, ['sh', '-c', 'kill -TERM $(grep -l "^sleep$" /proc/[0-9]*/comm | cut -d/ -f3)'])
    const after = await waitFor('PostgreSQL to come back', async () => {
      const pid = await checkpointer().catch(() => undefined)
      return pid && pid !== before ? pid : undefined
    })
    expect(after).not.to.equal(before)
  })
})
