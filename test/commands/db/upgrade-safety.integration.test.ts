/**
 * db upgrade's safety against the real engine, on one PostgreSQL 15 stack whose adopted data volume is a bind
 * mount of a host directory (type=none, o=bind, device=DIR): options that would give the new volume the same
 * storage, or put it in memory, are refused before anything is written; a switch whose check fails switches
 * back (never "edited by hand"); users visiting during the switch do not fail it; rollback counts every visit
 * written since; a CLI SIGKILLed mid-copy leaves leftovers that up and doctor report and up cleans.
 */
import {expect} from 'chai'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {runCli, freePort, spawnCli, type CliResult, NO_WAL_ARCHIVE} from '../../helpers/cli.js'
import {docker, holdTableLock, psqlIn, removeComposeProject, uniqueName} from '../../helpers/docker.js'

describe('db upgrade safety (integration)', function () {
  this.timeout(600_000)
  const root = mkdtempSync(path.join(tmpdir(), 'stackctl-upgrade-safety-'))
  const stateDir = path.join(root, 'state')
  const dir = path.join(root, 'stack')
  const data = (name: string) => {
    const device = path.join(root, name)
    mkdirSync(device, {recursive: true})
    return device
  }
  const oldDevice = data('pg15')
  const project = uniqueName('i21u')
  const oldVolume = `${project}_postgres_data`
  const env = {STACKCTL_IMAGE_SOURCE: 'local', STACKCTL_STATE_DIR: stateDir}
  const bind = (device: string) => ['type=none', 'o=bind', `device=${device}`].flatMap((o) => ['--volume-opt', o])
  let port: number

  const cli = (args: string[], extraEnv: Record<string, string> = {}) =>
    runCli([...args, '--dir', dir, '--project-name', project], {env: {...env, ...extraEnv}})
  const sql = (query: string) => psqlIn(project, query)
  const visitsDigest = () =>
    sql(
      "SELECT count(*) || ':' || coalesce(max(id), 0) || ':' || md5(string_agg(v::text, ',' ORDER BY id)) FROM visits v",
    )
  const stackJson = () => JSON.parse(readFileSync(path.join(dir, 'stack.json'), 'utf8'))

  async function visit(): Promise<{visits: number; visit: {id: number}}> {
    const response = await fetch(`http://127.0.0.1:${port}/`)
    expect(response.status).to.equal(200)
    return (await response.json()) as {visits: number; visit: {id: number}}
  }

  async function projectVolumes(): Promise<string[]> {
    const {Volumes} = await docker.listVolumes()
    return (Volumes ?? [])
      .map((v) => v.Name)
      .filter((name) => name.startsWith(`${project}_`))
      .sort()
  }

  async function upgradeContainers(): Promise<string[]> {
    const found = await docker.listContainers({
      all: true,
      filters: {label: [`io.stackctl.project=${project}`, 'io.stackctl.role=upgrade']},
    })
    return found.map((c) => c.Names[0].slice(1))
  }

  /** Until the running CLI's stderr matches; fails at once when it ended without. */
  async function waitFor(run: ReturnType<typeof spawnCli>, pattern: RegExp, ms = 180_000): Promise<void> {
    const deadline = Date.now() + ms
    let ended = false
    void run.result.then(() => (ended = true))
    while (!pattern.test(run.output.stderr)) {
      if (ended || Date.now() > deadline) {
        throw new Error(`${ended ? 'ended' : 'timed out'} before ${pattern}; stderr:\n${run.output.stderr}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }

  /** On the old volume and major, the same visits, nothing pending, the API counting on. */
  async function expectOnOldVolume(digest: string, volumes: string[]): Promise<void> {
    const state = stackJson()
    expect(state.settings.pgMajor).to.equal(15)
    expect(state.settings.volume).to.equal(undefined)
    expect(state).not.to.have.property('pendingUpgrade')
    expect(await projectVolumes()).to.deep.equal([...volumes].sort())
    expect(await upgradeContainers()).to.deep.equal([])
    expect(await visitsDigest()).to.equal(digest)
    expect(readFileSync(path.join(oldDevice, 'PG_VERSION'), 'utf8').trim()).to.equal('15')
    expect((await visit()).visits).to.equal(Number(digest.split(':')[0]) + 1)
  }

  function expectRefusal(result: CliResult, message: RegExp): void {
    expect(result.exitCode, result.stderr).to.equal(2)
    expect(result.stderr).to.match(message)
    expect(result.stderr).not.to.match(/HTTP code|delet/i)
  }

  before(async () => {
    port = await freePort()
    await docker.createVolume({
      Name: oldVolume,
      DriverOpts: {type: 'none', o: 'bind', device: oldDevice},
    })
    // An empty adopted volume is initialised with the stack directory's password file, which must be there.
    mkdirSync(path.join(dir, 'secrets'), {recursive: true, mode: 0o700})
    writeFileSync(path.join(dir, 'secrets', 'db_password'), 'upgrade-safety-password', {mode: 0o600})
    // Not about archiving (upgrade-archive.integration.test.ts is): no <project>_backups among the volumes listed.
    const up = await cli(['up', '--port', String(port), '--pg-major', '15', '--adopt', NO_WAL_ARCHIVE])
    expect(up.exitCode, up.stderr).to.equal(0)
    for (let i = 0; i < 5; i++) await visit()
    await sql(
      'INSERT INTO visits (visited_at) SELECT now() - make_interval(secs => g) FROM generate_series(1, 20000) g; ' +
        'UPDATE visit_counter SET n = (SELECT count(*) FROM visits); CREATE TABLE zz_lock (n int)',
    )
  })

  after(async () => {
    try {
      for (const name of await upgradeContainers()) await docker.getContainer(name).remove({force: true})
      await removeComposeProject(project)
      for (const name of await projectVolumes()) await docker.getVolume(name).remove({force: true})
    } finally {
      rmSync(root, {recursive: true, force: true})
    }
  })

  let volumes = [oldVolume]

  it('refuses a new volume in memory (tmpfs) unless --force, which warns', async () => {
    const digest = await visitsDigest()
    const tmpfs = ['--volume-opt', 'type=tmpfs', '--volume-opt', 'device=tmpfs', '--volume-opt', 'o=size=16m']
    const refused = await cli(['db', 'upgrade', '--to', '17', ...tmpfs])
    expectRefusal(refused, /puts? the new volume in memory \(tmpfs\): the upgraded data would not survive a restart/)
    expect(refused.stderr).to.include('--force')
    expect(refused.stderr).not.to.match(/^upgrade: /m)
    await expectOnOldVolume(digest, volumes)
    // With --force the tmpfs is accepted with a warning (and then refused for its size: nothing is copied).
    const digestForced = await visitsDigest()
    const forced = await cli(['db', 'upgrade', '--to', '17', '--force', ...tmpfs])
    expectRefusal(forced, /not enough space for the copy/)
    expect(forced.stderr).to.match(/warning: .*in memory \(tmpfs\).*accepted with --force/)
    await expectOnOldVolume(digestForced, volumes)
  })

  it('refuses to give the new volume the bind mount of the old one, before anything is written', async () => {
    const digest = await visitsDigest()
    const derived = await cli(['db', 'upgrade', '--to', '17'])
    expectRefusal(derived, new RegExp(`the new volume would be the storage of ${oldVolume} itself: both would mount`))
    expect(derived.stderr).to.include(`--volume-opt device=${oldDevice}-upgraded`)
    expect(derived.stderr).not.to.match(/^upgrade: new volume/m)
    await expectOnOldVolume(digest, volumes)

    // Another spelling of the same directory (a symlink) is caught by comparing the mounted directories.
    const link = path.join(root, 'link-to-pg15')
    symlinkSync(oldDevice, link)
    const digestLinked = await visitsDigest()
    const linked = await cli(['db', 'upgrade', '--to', '17', ...bind(link)])
    expectRefusal(linked, new RegExp(`the new volume ${oldVolume}_pg17 is the storage of ${oldVolume} itself`))
    expect(linked.stderr).not.to.match(/^upgrade: backup/m)
    expect(linked.stderr).to.include(`the stack runs on ${oldVolume} (PostgreSQL 15), unchanged`)
    await expectOnOldVolume(digestLinked, volumes)
  })

  it('a check that fails after the switch switches back to the old volume (never "edited by hand")', async () => {
    const digest = await visitsDigest()
    const result = await cli(['db', 'upgrade', '--to', '17', ...bind(data('pg17-a'))], {
      STACKCTL_TEST_FAIL_API_CHECK: '1',
    })
    expect(result.exitCode, result.stderr).to.equal(1)
    expect(result.stderr).to.match(/switching back to /)
    expect(result.stderr).not.to.match(/edited by hand/)
    expect(result.stderr).to.include(`the stack runs on ${oldVolume} (PostgreSQL 15) again`)
    volumes = [oldVolume, `${oldVolume}_pg17`]
    await expectOnOldVolume(digest, volumes)
    expect(stackJson().superseded.map((s: {volume: string}) => s.volume)).to.deep.equal([`${oldVolume}_pg17`])
  })

  const user: number[] = []
  let copiedMaxId = 0
  let beforeUpgrade = ''

  it('users visiting during the switch do not fail it, and every visit they were answered is kept', async () => {
    const before = await visitsDigest()
    beforeUpgrade = before
    copiedMaxId = Number(before.split(':')[1])
    const run = spawnCli(
      ['db', 'upgrade', '--to', '17', ...bind(data('pg17-b')), '--dir', dir, '--project-name', project],
      {env},
    )
    await waitFor(run, /upgrade: switch/)
    let done = false
    void run.result.then(() => (done = true))
    while (!done) {
      const answer = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined)
      if (answer?.status === 200) user.push(((await answer.json()) as {visit: {id: number}}).visit.id)
      else await new Promise((resolve) => setTimeout(resolve, 10))
    }
    const result = await run.result
    expect(result.exitCode, result.stderr).to.equal(0)
    const check = stackJson().switches.at(-1)
    expect(check).to.include({copiedMaxVisitId: copiedMaxId, kind: 'upgrade'})
    // Users were answered before the upgrade's own check visit: the case the check must tolerate.
    expect(user.filter((id) => id < check.checkVisitId).length).to.be.greaterThan(0)
    expect(await sql("SELECT current_setting('server_version_num')::int / 10000")).to.equal('17')
    const listed = user.join(',')
    expect(await sql(`SELECT count(*) FROM visits WHERE id IN (${listed})`)).to.equal(String(user.length))
    expect(await sql(`SELECT count(*) FROM visits WHERE id <= ${copiedMaxId}`)).to.equal(before.split(':')[0])
  })

  it('db rollback counts every visit written since the upgrade, users during the switch included', async () => {
    // A retention job deleting old rows must not hide new ones (a difference of counts would).
    await sql('DELETE FROM visits WHERE id = (SELECT min(id) FROM visits)')
    for (let i = 0; i < 3; i++) await visit()
    const since = user.length + 3
    expect(await sql(`SELECT count(*) - 1 FROM visits WHERE id > ${copiedMaxId}`)).to.equal(String(since))
    const refused = await cli(['db', 'rollback'])
    expectRefusal(refused, new RegExp(`refusing to roll back: ${since} visits were written since the upgrade`))
    const result = await cli(['db', 'rollback', '--force', '--json'])
    expect(result.exitCode, result.stderr).to.equal(0)
    expect(JSON.parse(result.stdout)).to.include({left: since})
    expect(stackJson().settings.pgMajor).to.equal(15)
    volumes = [oldVolume, `${oldVolume}_pg17`, `${oldVolume}_pg17_2`]
    // The old volume as the upgrade left it: nothing was written to it since.
    await expectOnOldVolume(beforeUpgrade, volumes)
  })

  it('a CLI SIGKILLed mid-copy: up and doctor report the leftovers, up cleans them and serves the same data', async () => {
    const digest = await visitsDigest()
    const run = spawnCli(
      ['db', 'upgrade', '--to', '17', ...bind(data('pg17-c')), '--dir', dir, '--project-name', project],
      {env},
    )
    const [db] = await docker.listContainers({
      filters: {label: [`com.docker.compose.project=${project}`, 'com.docker.compose.service=db']},
    })
    try {
      await waitFor(run, /upgrade: new server/)
      // A lock pg_dump waits for: the copy is surely under way, not done, when the CLI is killed.
      await holdTableLock(db.Id, 'zz_lock')
      await waitFor(run, /copying:/)
      const deadline = Date.now() + 60_000
      while (
        (await sql(
          "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_dump' AND wait_event_type = 'Lock'",
        )) === '0'
      ) {
        if (Date.now() > deadline) throw new Error('pg_dump never waited for the lock')
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      run.child.kill('SIGKILL')
      await run.result
    } finally {
      await sql(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(300)%' AND pid <> pg_backend_pid()",
      )
    }
    expect(await upgradeContainers()).to.deep.equal([`${project}-upgrade-pg17`])
    const newVolume: string = stackJson().pendingUpgrade.volume
    expect(newVolume).to.match(new RegExp(`^${oldVolume}_pg17(_\\d+)?$`))
    expect(await projectVolumes()).to.include(newVolume)

    const doctor = await cli(['doctor'])
    expect(doctor.stdout).to.match(new RegExp(`FAIL  upgrade +${project}-upgrade-pg17 \\(running\\)`))
    expect(doctor.stdout).to.include('the API it stopped is still stopped')
    expect(doctor.stdout).to.match(/fix: if no stackctl db upgrade is running, stackctl up --dir \S+ --project-name/)
    expect(doctor.stdout).to.include(`${newVolume}, the unfinished copy of a db upgrade that was killed`)

    const up = await cli(['up'])
    expect(up.exitCode, up.stderr).to.equal(0)
    expect(up.stderr).to.include(`removed ${project}-upgrade-pg17 (running), the temporary server of a db upgrade`)
    const prune = `stackctl db prune-old ${newVolume} --dir ${dir} --project-name ${project}`
    expect(up.stderr).to.include(`kept ${newVolume}, the unfinished copy`)
    expect(up.stderr).to.include(prune)
    expect(await upgradeContainers()).to.deep.equal([])
    expect(await visitsDigest()).to.equal(digest)
    expect((await visit()).visits).to.equal(Number(digest.split(':')[0]) + 1)

    const again = await cli(['doctor', '--json'])
    const check = JSON.parse(again.stdout).checks.find((c: {name: string}) => c.name === 'upgrade')
    expect(check).to.include({status: 'warn', fix: prune})

    // The hint, as printed (with --force: no terminal here to type the name on).
    const removed = await cli([...prune.split(' ').slice(1, 4), '--force'])
    expect(removed.exitCode, removed.stderr).to.equal(0)
    expect(await projectVolumes()).not.to.include(newVolume)
    expect(stackJson()).not.to.have.property('pendingUpgrade')
    const clean = JSON.parse((await cli(['doctor', '--json'])).stdout)
    expect(clean.checks.map((c: {name: string}) => c.name)).not.to.include('upgrade')
  })
})
