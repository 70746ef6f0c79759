/**
 * db upgrade / db rollback / db prune-old against the real engine: one stack on PostgreSQL 15 with visits. Every
 * fault (bad input, a new server that cannot start, too little disk, a restore that fails halfway, the upgrade
 * container SIGKILLed mid-copy, Ctrl-C) must leave it running on its old volume with the same data; then the
 * real upgrade to 17 keeps every visit, id and checksum, the count continues, and the rollback returns to 15.
 */
import {expect} from 'chai'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {buildImages} from '../../../src/lib/engine/images/builder.js'
import {freePort, runCli, spawnCli, type CliResult, NO_WAL_ARCHIVE} from '../../helpers/cli.js'
import {docker, engine, engines, holdTableLock, psqlIn, removeComposeProject, uniqueName} from '../../helpers/docker.js'
import {BUILD_TIMEOUT_MS} from '../../lib/engine/images/ensure-images.js'

describe('db upgrade, rollback and prune-old (integration)', function () {
  this.timeout(600_000)
  const root = mkdtempSync(path.join(tmpdir(), 'stackctl-upgrade-'))
  const stateDir = path.join(root, 'state')
  const dir = path.join(root, 'stack')
  const project = uniqueName('upg')
  const oldVolume = `${project}_postgres_data`
  // A volume of that name that is not the stack's (no labels) is there first: the upgrade must leave it alone.
  const foreignVolume = `${oldVolume}_pg17`
  const newVolume = `${oldVolume}_pg17_2`
  const env = {STACKCTL_IMAGE_SOURCE: 'local', STACKCTL_STATE_DIR: stateDir}
  let port: number

  const cli = (...args: string[]) => runCli([...args, '--dir', dir, '--project-name', project], {env})
  const spawn = (...args: string[]) => spawnCli([...args, '--dir', dir, '--project-name', project], {env})
  const sql = (query: string) => psqlIn(project, query)
  /** Every visit, its id and content: equal before and after means the same data. */
  const visitsDigest = () =>
    sql(
      "SELECT count(*) || ':' || coalesce(max(id), 0) || ':' || md5(string_agg(v::text, ',' ORDER BY id)) FROM visits v",
    )
  const stackJson = () => JSON.parse(readFileSync(path.join(dir, 'stack.json'), 'utf8'))

  async function nextVisit(): Promise<{visits: number; visit: {id: number}}> {
    const response = await fetch(`http://127.0.0.1:${port}/`)
    expect(response.status).to.equal(200)
    return (await response.json()) as {visits: number; visit: {id: number}}
  }

  async function projectVolumes(): Promise<string[]> {
    const {Volumes} = await docker.listVolumes({filters: {label: [`io.stackctl.project=${project}`]}})
    return (Volumes ?? []).map((v) => v.Name).sort()
  }

  async function upgradeContainers(): Promise<string[]> {
    const found = await docker.listContainers({
      all: true,
      filters: {label: [`io.stackctl.project=${project}`, 'io.stackctl.role=upgrade']},
    })
    return found.map((c) => c.Names[0])
  }

  async function waitFor(output: {stderr: string}, pattern: RegExp, ms = 120_000): Promise<void> {
    const deadline = Date.now() + ms
    while (!pattern.test(output.stderr)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; stderr so far:\n${output.stderr}`)
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }

  /**
   * The stack as a failed upgrade must leave it: on the old volume and major, the same visits, nothing of the
   * upgrade left (container, volume, lock, pending mark), the API counting on.
   */
  async function expectUntouched(digest: string): Promise<void> {
    const state = stackJson()
    expect(state.settings.pgMajor).to.equal(15)
    expect(state.settings.volume).to.equal(undefined)
    expect(state).not.to.have.property('pendingUpgrade')
    expect(await projectVolumes()).to.deep.equal([oldVolume])
    expect((await docker.getVolume(foreignVolume).inspect()).Labels ?? {}).to.deep.equal({})
    expect(await upgradeContainers()).to.deep.equal([])
    expect(await visitsDigest()).to.equal(digest)
    expect(existsSync(path.join(dir, 'stackctl.lock'))).to.equal(false)
    const locks = path.join(stateDir, 'locks')
    expect(readdirSync(locks).flatMap((e) => readdirSync(path.join(locks, e)))).to.deep.equal([])
    const total = Number(digest.split(':')[0])
    const next = await nextVisit()
    expect(next.visits).to.equal(total + 1)
  }

  /** Holds a lock that pg_dump waits for, so the copy is surely under way (and not done) when a test strikes. */
  async function blockDump(): Promise<void> {
    const [db] = await docker.listContainers({
      filters: {label: [`com.docker.compose.project=${project}`, 'com.docker.compose.service=db']},
    })
    await holdTableLock(db.Id, 'zz_lock')
    const deadline = Date.now() + 10_000
    while ((await sql("SELECT count(*) FROM pg_locks WHERE relation = 'zz_lock'::regclass AND granted")) === '0') {
      if (Date.now() > deadline) throw new Error('the blocking lock was not taken')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  async function waitUntilDumpBlocked(): Promise<void> {
    const deadline = Date.now() + 60_000
    while (
      (await sql(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_dump' AND wait_event_type = 'Lock'",
      )) === '0'
    ) {
      if (Date.now() > deadline) throw new Error('pg_dump never waited for the lock')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  async function releaseDump(): Promise<void> {
    await sql(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(300)%' AND pid <> pg_backend_pid()",
    )
  }

  async function expectFailure(result: CliResult, exitCode: number, message: RegExp): Promise<void> {
    expect(result.exitCode, result.stderr).to.equal(exitCode)
    expect(result.stderr).to.match(message)
  }

  /** A failed upgrade never advises deleting anything. */
  async function expectUpgradeFailure(result: CliResult, exitCode: number, message: RegExp): Promise<void> {
    await expectFailure(result, exitCode, message)
    expect(result.stderr).not.to.match(/delet|prune|remove it/i)
  }

  before(async function () {
    this.timeout(BUILD_TIMEOUT_MS)
    await buildImages({
      engine,
      docker: engines.cli(),
      only: 'postgres',
      pgMajors: [15, 17],
      progress: (line) => process.stderr.write(`      [images build] ${line}\n`),
    })
    port = await freePort()
    await docker.createVolume({Name: foreignVolume})
    // Not about archiving (upgrade-archive.integration.test.ts is): no <project>_backups among the volumes listed.
    const up = await cli('up', '--port', String(port), '--pg-major', '15', NO_WAL_ARCHIVE)
    expect(up.exitCode, up.stderr).to.equal(0)
    for (let i = 0; i < 20; i++) await nextVisit()
    // More rows than the API writes in a test's time, the counter kept exact, and a table to block pg_dump on.
    await sql(
      'INSERT INTO visits (visited_at) SELECT now() - make_interval(secs => g) FROM generate_series(1, 50000) g; ' +
        'UPDATE visit_counter SET n = (SELECT count(*) FROM visits); CREATE TABLE zz_lock (n int)',
    )
  })

  after(async () => {
    try {
      for (const name of await upgradeContainers()) await docker.getContainer(name.slice(1)).remove({force: true})
      await removeComposeProject(project)
      for (const name of await projectVolumes()) await docker.getVolume(name).remove({force: true})
      await docker.getVolume(foreignVolume).remove({force: true})
    } finally {
      rmSync(root, {recursive: true, force: true})
    }
  })

  it('refuses bad input in one line with a hint, changing nothing', async () => {
    const digest = await visitsDigest()
    const cases: Array<[string[], RegExp]> = [
      [['--to', '16'], /there is no PostgreSQL 16 image for this stack/],
      [['--to', '15'], /already runs PostgreSQL 15: nothing to upgrade/],
      [['--to', '13'], /--to 13 is older than the PostgreSQL 15 the stack runs/],
      [['--to', '17', '--method', 'pg_upgrade'], /--method pg_upgrade is not available with these images/],
      [['--to', '17', '--initdb-args', '--locale=$(id)'], /invalid --initdb-args value/],
    ]
    for (const [args, message] of cases) {
      const result = await cli('db', 'upgrade', ...args)
      await expectUpgradeFailure(result, 2, message)
      // One error line and one hint; no step of the upgrade was entered.
      const lines = result.stderr.trim().split('\n')
      expect(lines.slice(-2).map((line) => line.split(':')[0])).to.deep.equal(['Error', 'Hint'])
      expect(result.stderr).not.to.match(/^upgrade: /m)
    }
    await expectUntouched(digest)
  })

  it('a new server that cannot start (a broken initdb option) leaves the stack on its old volume', async () => {
    const digest = await visitsDigest()
    const result = await cli('db', 'upgrade', '--to', '17', '--initdb-args=--no-such-option')
    await expectUpgradeFailure(result, 1, /failed at step 'new server': the new server did not start.*--no-such-option/)
    expect(result.stderr).to.include(`the stack runs on ${oldVolume} (PostgreSQL 15), unchanged`)
    // The step display: the steps done, then the one that failed.
    const steps = [...result.stderr.matchAll(/^([✔✖]) (.+) \([\d.]+ s\)$/gm)].map((m) => `${m[1]} ${m[2]}`)
    expect(steps).to.deep.equal(['✔ pre-flight', '✔ new volume', '✔ backup', '✔ ledger', '✖ new server'])
    await expectUntouched(digest)
  })

  it('too little disk for the copy is refused with the numbers, before anything is copied', async () => {
    const digest = await visitsDigest()
    const tmpfs = ['--volume-opt', 'type=tmpfs', '--volume-opt', 'device=tmpfs', '--volume-opt', 'o=size=16m']
    const result = await cli('db', 'upgrade', '--to', '17', '--force', ...tmpfs)
    await expectUpgradeFailure(
      result,
      2,
      /not enough space for the copy: \S+ has 16\.0 MiB free, the copy needs about [\d.]+ MiB/,
    )
    expect(result.stderr).not.to.include('copying:')
    await expectUntouched(digest)
  })

  it('a restore that fails halfway restores nothing and leaves the old data as it was', async () => {
    // A CHECK that calls a function changed after the rows went in: the rows dump fine and fail to restore.
    await sql(
      "CREATE FUNCTION small(n int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT n < 100'; " +
        'CREATE TABLE zz_checked (n int CHECK (small(n))); INSERT INTO zz_checked SELECT generate_series(1, 50); ' +
        "CREATE OR REPLACE FUNCTION small(n int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT n < 10'",
    )
    try {
      const digest = await visitsDigest()
      const result = await cli('db', 'upgrade', '--to', '17')
      await expectUpgradeFailure(result, 1, /failed at step 'copy': .*violates check constraint "zz_checked_n_check"/)
      expect(result.stderr).to.include('copying:')
      await expectUntouched(digest)
      expect(await sql('SELECT count(*) FROM zz_checked')).to.equal('50')
    } finally {
      await sql('DROP TABLE zz_checked; DROP FUNCTION small(int)')
    }
  })

  it('the upgrade container SIGKILLed mid-copy: the upgrade fails, the stack stays on its old volume', async () => {
    const digest = await visitsDigest()
    const run = spawn('db', 'upgrade', '--to', '17')
    try {
      await waitFor(run.output, /upgrade: new server/)
      await blockDump()
      await waitFor(run.output, /copying:/)
      await waitUntilDumpBlocked()
      const [container] = await upgradeContainers()
      expect(container).to.equal(`/${project}-upgrade-pg17`)
      await docker.getContainer(container.slice(1)).kill({signal: 'SIGKILL'})
    } finally {
      await releaseDump()
    }
    const result = await run.result
    await expectUpgradeFailure(result, 1, /failed at step 'copy'/)
    expect(result.stderr).to.include(`the new volume ${newVolume} removed`)
    await expectUntouched(digest)
  })

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM'} mid-copy undoes the upgrade, releases the lock and exits 130`, async () => {
      const digest = await visitsDigest()
      const run = spawn('db', 'upgrade', '--to', '17')
      try {
        await waitFor(run.output, /upgrade: new server/)
        await blockDump()
        await waitFor(run.output, /copying:/)
        await waitUntilDumpBlocked()
        run.child.kill(signal)
        const result = await run.result
        await expectUpgradeFailure(result, 130, /interrupted: db upgrade stopped at step 'copy'/)
        expect(result.stderr).to.include(`the stack runs on ${oldVolume} (PostgreSQL 15), unchanged`)
      } finally {
        await releaseDump()
      }
      await expectUntouched(digest)
    })
  }

  it('upgrades 15 → 17 keeping every visit, id and checksum; the count continues; the old volume is kept', async () => {
    const before = await visitsDigest()
    const [total, maxId] = before.split(':').map(Number)
    const result = await cli('db', 'upgrade', '--to', '17', '--json')
    expect(result.exitCode, result.stderr).to.equal(0)
    const upgraded = JSON.parse(result.stdout)
    expect(upgraded).to.include({project, visits: total, nextVisit: total + 1, superseded: oldVolume})
    expect(upgraded.from).to.include({volume: oldVolume, pgMajor: 15})
    expect(upgraded.to).to.include({volume: newVolume, pgMajor: 17})
    expect(existsSync(upgraded.backup)).to.equal(true)
    expect(await sql("SELECT current_setting('server_version_num')::int / 10000")).to.equal('17')
    // The API's check visit is the first on 17; everything before it is exactly the old data.
    expect(await sql(`SELECT count(*) FROM visits WHERE id > ${maxId}`)).to.equal('1')
    const [, , checksum] = before.split(':')
    expect(await sql(`SELECT md5(string_agg(v::text, ',' ORDER BY id)) FROM visits v WHERE id <= ${maxId}`)).to.equal(
      checksum,
    )
    const next = await nextVisit()
    expect(next).to.deep.include({visits: total + 2})
    expect(next.visit.id).to.equal(maxId + 2)

    const inspect = JSON.parse((await cli('volume', 'inspect', '--json')).stdout)
    expect(inspect).to.include({name: newVolume, pgVersion: 17, configuredPgVersion: 17, compatible: true})
    expect(inspect.labels).to.include({'io.stackctl.supersedes': oldVolume, 'io.stackctl.pg-major': '17'})
    expect(inspect.superseded).to.have.length(1)
    expect(inspect.superseded[0]).to.include({volume: oldVolume, pgMajor: 15, supersededBy: newVolume, exists: true})
    const status = JSON.parse((await cli('status', '--json')).stdout)
    expect(status.volume).to.deep.equal({name: newVolume})
    expect(status.compose.volume).to.include({pgMajor: 17})
    expect(status.compose.volume.superseded.map((s: {volume: string}) => s.volume)).to.deep.equal([oldVolume])
    const human = await cli('status')
    expect(human.stdout).to.match(new RegExp(`old +${oldVolume} \\(PostgreSQL 15, superseded`))
    // The control for the snapshot file's status check: after an upgrade the old volume offers db rollback.
    expect(human.stdout).to.match(new RegExp(`old +${oldVolume} .*: stackctl db rollback.* / stackctl db prune-old`))
    expect((await docker.getVolume(foreignVolume).inspect()).Labels ?? {}).to.deep.equal({}) // never taken
    // The old volume is untouched: PostgreSQL 15 data, used by nobody.
    expect((await engine.containers.list({volume: oldVolume})).length).to.equal(0)
  })

  it('db rollback refuses while visits written since would be lost, then with --force returns to 15 as it was', async () => {
    const refused = await cli('db', 'rollback')
    await expectFailure(refused, 2, /refusing to roll back: 1 visit was written since the upgrade and would be lost/)
    expect(refused.stderr).to.include('--force')
    expect(stackJson().settings.volume).to.equal(newVolume)

    const result = await cli('db', 'rollback', '--force', '--json')
    expect(result.exitCode, result.stderr).to.equal(0)
    const rolledBack = JSON.parse(result.stdout)
    expect(rolledBack.to).to.deep.equal({volume: oldVolume, pgMajor: 15})
    expect(rolledBack.left).to.equal(1)
    expect(await sql("SELECT current_setting('server_version_num')::int / 10000")).to.equal('15')
    expect(stackJson().settings).to.include({pgMajor: 15})
    expect(stackJson().settings.volume).to.equal(undefined)
    const inspect = JSON.parse((await cli('volume', 'inspect', '--json')).stdout)
    expect(inspect).to.include({name: oldVolume, pgVersion: 15})
    expect(inspect.superseded.map((s: {volume: string}) => s.volume)).to.deep.equal([newVolume])
    const again = await cli('db', 'rollback')
    await expectFailure(again, 2, /nothing to roll back/)
  })

  it('db prune-old asks for the name (refusing without a terminal), and with --force removes the old volume', async () => {
    const refused = await cli('db', 'prune-old')
    await expectFailure(refused, 2, new RegExp(`refusing to delete volume ${newVolume} without confirmation`))
    expect(await projectVolumes()).to.deep.equal([oldVolume, newVolume])
    const wrong = await cli('db', 'prune-old', oldVolume, '--force')
    expect(wrong.exitCode).to.equal(2) // the active volume is never a candidate
    expect(await projectVolumes()).to.deep.equal([oldVolume, newVolume])
    const result = await cli('db', 'prune-old', '--force', '--json')
    expect(result.exitCode, result.stderr).to.equal(0)
    expect(JSON.parse(result.stdout)).to.deep.equal({schemaVersion: 1, project, removed: newVolume, kept: []})
    expect(await projectVolumes()).to.deep.equal([oldVolume])
    expect(stackJson().superseded).to.deep.equal([])
    expect((await nextVisit()).visits).to.be.greaterThan(0)
  })
})
