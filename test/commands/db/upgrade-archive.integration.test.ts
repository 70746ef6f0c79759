/**
 * db upgrade and db rollback on a stack that archives its WAL (issue 25), against the real engine: a restore
 * point on the old major first; after the switch the archive follows PostgreSQL 17 (pgBackRest stanza-upgrade)
 * with a full backup of it, so a restore works at once; the earlier major's snapshot and restore point are
 * listed with their major and refused with the command that returns to them; rollback brings the archive back
 * to 15. A move of the archive that fails halfway switches back with archiving working on 15.
 */
import {expect} from 'chai'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {buildImages} from '../../../src/lib/engine/images/builder.js'
import {currentCluster, parseRepoInfo} from '../../../src/lib/operations/protect/pgbackrest.js'
import {freePort, runCli, spawnCli, type CliResult} from '../../helpers/cli.js'
import {docker, engine, engines, removeComposeProject, uniqueName} from '../../helpers/docker.js'
import {BUILD_TIMEOUT_MS} from '../../lib/engine/images/ensure-images.js'

describe('db upgrade and rollback with WAL archiving (integration)', function () {
  this.timeout(600_000)
  const root = mkdtempSync(path.join(tmpdir(), 'stackctl-upgrade-archive-'))
  const stateDir = path.join(root, 'state')
  const dir = path.join(root, 'stack')
  const project = uniqueName('upgarc')
  const env = {STACKCTL_IMAGE_SOURCE: 'local', STACKCTL_STATE_DIR: stateDir}
  let port: number
  let pointBeforeUpgrade = ''

  const cli = (args: string[], extraEnv: Record<string, string> = {}) =>
    runCli([...args, '--dir', dir, '--project-name', project], {env: {...env, ...extraEnv}})
  const stackJson = () => JSON.parse(readFileSync(path.join(dir, 'stack.json'), 'utf8'))

  async function visit(): Promise<number> {
    const response = await fetch(`http://127.0.0.1:${port}/`)
    expect(response.status).to.equal(200)
    return ((await response.json()) as {visits: number}).visits
  }

  async function dbId(): Promise<string> {
    const [db] = await docker.listContainers({
      filters: {label: [`com.docker.compose.project=${project}`, 'com.docker.compose.service=db']},
    })
    return db.Id
  }

  async function execDb(cmd: string[]): Promise<{exitCode: number; stdout: string; stderr: string}> {
    const result = await engine.containers.exec(await dbId(), cmd)
    return {exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr}
  }

  const pgbackrest = (...args: string[]) =>
    execDb(['setpriv', '--reuid=postgres', '--regid=postgres', '--init-groups', '--', 'pgbackrest', ...args])

  /**
   * The running db archives into the stanza as PostgreSQL `major`: the stanza's current cluster is the running
   * one (major and system identifier), it holds a full backup of it, and pgBackRest's own `check` switches a
   * WAL segment and sees it arrive in the archive.
   */
  async function expectArchives(major: number): Promise<void> {
    const info = parseRepoInfo((await pgbackrest('--stanza=visits', '--output=json', 'info')).stdout)
    const running = (
      await execDb(['psql', '-U', 'postgres', '-Atc', 'SELECT system_identifier FROM pg_control_system()'])
    ).stdout.trim()
    expect(info.pgVersion, 'the stanza archives this major').to.equal(String(major))
    expect(info.systemId, 'the stanza archives the running cluster').to.equal(running)
    const fulls = currentCluster(info).backups.filter((b) => b.type === 'full' && b.pgVersion === String(major))
    expect(fulls.length, `a full backup of PostgreSQL ${major}`).to.be.greaterThan(0)
    const check = await pgbackrest('--stanza=visits', '--archive-timeout=30', 'check')
    expect(check.exitCode, check.stderr).to.equal(0)
  }

  async function expectDoctorArchivingOk(): Promise<void> {
    const doctor = await cli(['doctor', '--json'])
    const checks = (JSON.parse(doctor.stdout) as {checks: Array<{name: string; status: string; detail?: string}>})
      .checks
    const archiving = checks.find((c) => c.name === 'archiving')
    expect(archiving?.status, doctor.stdout).to.equal('ok')
  }

  function expectRefusedWithRollback(result: CliResult): void {
    expect(result.exitCode, result.stderr).to.not.equal(0)
    expect(result.stderr).to.match(/PostgreSQL 15/)
    const hint = result.stderr.split('\n').find((line) => line.startsWith('Hint:')) ?? ''
    expect(hint).to.contain(`stackctl db rollback --dir ${dir} --project-name ${project}`)
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
    const up = await cli(['up', '--port', String(port), '--pg-major', '15', '--wal-archive'])
    expect(up.exitCode, up.stderr).to.equal(0)
    for (let i = 0; i < 5; i++) await visit()
    const snapshot = await cli(['snapshot', 'create', 'on15'])
    expect(snapshot.exitCode, snapshot.stderr).to.equal(0)
  })

  after(async () => {
    try {
      const upgrade = await docker.listContainers({
        all: true,
        filters: {label: [`io.stackctl.project=${project}`, 'io.stackctl.role=upgrade']},
      })
      for (const c of upgrade) await docker.getContainer(c.Id).remove({force: true})
      await removeComposeProject(project)
      const {Volumes} = await docker.listVolumes({filters: {label: [`io.stackctl.project=${project}`]}})
      for (const v of Volumes ?? []) await docker.getVolume(v.Name).remove({force: true})
    } finally {
      rmSync(root, {recursive: true, force: true})
    }
  })

  it('the archive check holds on the archiving PostgreSQL 15 stack, and fails when asked for a major it does not archive', async () => {
    await expectArchives(15)
    // Negative control: the same check refuses a stanza that does not archive the major it is asked about.
    let failed: Error | undefined
    await expectArchives(17).catch((error: Error) => (failed = error))
    expect(failed?.message).to.match(/the stanza archives this major/)
  })

  it('an archive move that fails halfway (after stanza-upgrade) switches back: 15, archiving working, doctor ok', async () => {
    const result = await cli(['db', 'upgrade', '--to', '17'], {STACKCTL_TEST_FAIL_ARCHIVE_MOVE: '1'})
    expect(result.exitCode, result.stderr).to.equal(1)
    expect(result.stderr).to.match(/restore point before-db-upgrade-\d{8}T\d{6}Z/)
    expect(result.stderr).to.match(/db upgrade failed at step 'switch'.*made to fail/)
    expect(stackJson().settings.pgMajor).to.equal(15)
    expect(stackJson().settings.volume).to.equal(undefined)
    await expectArchives(15)
    // Negative control: the archive is on 15 again, so the check for 17 fails.
    let failed: Error | undefined
    await expectArchives(17).catch((error: Error) => (failed = error))
    expect(failed?.message).to.match(/the stanza archives this major/)
    await expectDoctorArchivingOk()
    expect(await visit()).to.be.greaterThan(5)
  })

  async function waitFor(output: {stderr: string}, pattern: RegExp, ms = 120_000): Promise<void> {
    const deadline = Date.now() + ms
    while (!pattern.test(output.stderr)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; stderr so far:\n${output.stderr}`)
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }

  it('Ctrl-C during the upgrade (the new server starting) exits 130: 15, archiving working, doctor ok', async () => {
    const run = spawnCli(['db', 'upgrade', '--to', '17', '--dir', dir, '--project-name', project], {env})
    await waitFor(run.output, /upgrade: new server/)
    run.child.kill('SIGINT')
    const result = await run.result
    expect(result.exitCode, result.stderr).to.equal(130)
    expect(stackJson().settings.pgMajor).to.equal(15)
    await expectArchives(15)
    await expectDoctorArchivingOk()
    expect(await visit()).to.be.greaterThan(5)
  })

  it('the CLI SIGKILLed during the upgrade: up returns to 15 with archiving working, doctor ok', async () => {
    const run = spawnCli(['db', 'upgrade', '--to', '17', '--dir', dir, '--project-name', project], {env})
    await waitFor(run.output, /upgrade: new server/)
    run.child.kill('SIGKILL')
    await run.result
    const up = await cli(['up'])
    expect(up.exitCode, up.stderr).to.equal(0)
    expect(stackJson().settings.pgMajor).to.equal(15)
    await expectArchives(15)
    await expectDoctorArchivingOk()
    expect(await visit()).to.be.greaterThan(5)
  })

  it('upgrades 15 → 17 with a restore point first; the archive follows 17 with a full backup; doctor ok', async () => {
    const result = await cli(['db', 'upgrade', '--to', '17', '--json'])
    expect(result.exitCode, result.stderr).to.equal(0)
    const json = JSON.parse(result.stdout) as {restorePoint: {name: string; returnCommand: string} | null}
    expect(json.restorePoint?.name).to.match(/^before-db-upgrade-\d{8}T\d{6}Z(-\d+)?$/)
    pointBeforeUpgrade = json.restorePoint!.name
    expect(stackJson().settings.pgMajor).to.equal(17)
    await expectArchives(17)
    await expectDoctorArchivingOk()
  })

  it('snapshot list shows each snapshot with its major; the 15 one and the point before the upgrade are refused with db rollback', async () => {
    const created = await cli(['snapshot', 'create', 'on17'])
    expect(created.exitCode, created.stderr).to.equal(0)
    const list = await cli(['snapshot', 'list', '--json'])
    expect(list.exitCode, list.stderr).to.equal(0)
    const snapshots = (
      JSON.parse(list.stdout) as {snapshots: Array<{name: string; pgMajor: number; restorable: boolean}>}
    ).snapshots
    expect(snapshots.map((s) => [s.name, s.pgMajor, s.restorable])).to.deep.equal([
      ['on15', 15, false],
      ['on17', 17, true],
    ])
    expectRefusedWithRollback(await cli(['snapshot', 'restore', 'on15', '--force']))
    expectRefusedWithRollback(await cli(['db', 'restore', '--to-name', pointBeforeUpgrade]))
    expect(stackJson().settings.pgMajor).to.equal(17)
  })

  it('db rollback makes a restore point on 17, returns to 15 and the archive follows it back; doctor ok', async () => {
    const result = await cli(['db', 'rollback', '--force', '--json'])
    expect(result.exitCode, result.stderr).to.equal(0)
    const json = JSON.parse(result.stdout) as {restorePoint: {name: string} | null}
    expect(json.restorePoint?.name).to.match(/^before-db-rollback-/)
    expect(stackJson().settings.pgMajor).to.equal(15)
    await expectArchives(15)
    await expectDoctorArchivingOk()
    expect(await visit()).to.be.greaterThan(5)
  })
  it('db restore --latest works right after the rollback (from its full backup of 15)', async () => {
    const before = await visit()
    await expectArchives(15) // pgBackRest's check switches the segment and waits until it is archived
    const restored = await cli(['db', 'restore', '--latest', '--json'])
    expect(restored.exitCode, restored.stderr).to.equal(0)
    expect(stackJson().settings.pgMajor).to.equal(15)
    // Every visit acknowledged before the restore is there: the next one continues the count.
    expect(await visit()).to.be.greaterThan(before)
    await expectArchives(15)
  })

  it('after the rollback the 15 snapshot from before the upgrade is restorable again, as the refusal said', async () => {
    const list = await cli(['snapshot', 'list', '--json'])
    const snapshots = (
      JSON.parse(list.stdout) as {snapshots: Array<{name: string; pgMajor: number; restorable: boolean}>}
    ).snapshots
    expect(snapshots.find((s) => s.name === 'on15')).to.deep.include({pgMajor: 15, restorable: true})
    expect(snapshots.find((s) => s.name === 'on17')).to.deep.include({pgMajor: 17, restorable: false})
    const restored = await cli(['snapshot', 'restore', 'on15', '--force'])
    expect(restored.exitCode, restored.stderr).to.equal(0)
    // The snapshot held the 5 visits of before; the API counts on from there.
    expect(await visit()).to.equal(6)
    await expectArchives(15)
  })
})
