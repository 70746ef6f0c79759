/**
 * WAL archiving and point-in-time restore on one real stack (PostgreSQL 17, pgBackRest): archiving is on by
 * default, a restore to a named point keeps exactly the visits before it, a target before the oldest backup is
 * refused with the stack untouched, and a lost data volume comes back with every archived visit.
 */
import {expect} from 'chai'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {ArchiveReport as DescribedArchive} from '../../../../src/lib/operations/describe/describe.js'
import {freePort, runCli} from '../../../helpers/cli.js'
import {Cleanup, docker, psqlIn, removeComposeProject, uniqueName} from '../../../helpers/docker.js'

describe('continuous protection (WAL archive, point-in-time restore)', function () {
  this.timeout(600_000)
  const project = uniqueName('protect')
  const root = mkdtempSync(path.join(tmpdir(), 'stackctl-protect-'))
  const dir = path.join(root, 'stack')
  const cleanup = new Cleanup()
  let port: number
  const stack = ['--dir', dir, '--project-name', project]

  const activeVolume = () =>
    (JSON.parse(readFileSync(path.join(dir, 'stack.json'), 'utf8')) as {settings: {volume?: string}}).settings.volume ??
    `${project}_postgres_data`

  async function visit(): Promise<number> {
    const response = await fetch(`http://127.0.0.1:${port}/`)
    expect(response.status).to.equal(200)
    return ((await response.json()) as {visit: {id: number}}).visit.id
  }

  async function visits(n: number): Promise<number[]> {
    const ids: number[] = []
    for (let i = 0; i < n; i++) ids.push(await visit())
    return ids
  }

  /** Waits (polling, bounded) until the segment holding `lsn` is archived: by archive_timeout, not by a switch. */
  async function archivedThrough(lsn: string): Promise<void> {
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline) {
      const done = await psqlIn(
        project,
        // The segment of the last byte before lsn: at a segment's very start, that is the previous one.
        `SELECT coalesce(last_archived_wal >= pg_walfile_name('${lsn}'::pg_lsn - 1), false) FROM pg_stat_archiver`,
      )
      if (done === 't') return
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    const archiver = await psqlIn(
      project,
      "SELECT *, pg_walfile_name(pg_current_wal_lsn()), current_setting('archive_mode'), pg_is_in_recovery() FROM pg_stat_archiver",
    )
    throw new Error(`WAL up to ${lsn} was not archived within 60 s: ${archiver}`)
  }

  async function presentIds(ids: number[]): Promise<number[]> {
    const rows = await psqlIn(project, `SELECT id FROM visits WHERE id IN (${ids.join(',')}) ORDER BY id`)
    return rows === '' ? [] : rows.split('\n').map(Number)
  }

  before(async () => {
    port = await freePort()
    cleanup.add(async () => rmSync(root, {recursive: true, force: true}))
    cleanup.volume(`${project}_backups`)
    for (const suffix of ['', '_pg17', '_pg17_2', '_pg17_3', '_pg17_4'])
      cleanup.volume(`${project}_postgres_data${suffix}`)
    cleanup.add(() => removeComposeProject(project))
    cleanup.add(async () => {
      const left = await docker.listContainers({all: true, filters: {label: [`io.stackctl.project=${project}`]}})
      await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({force: true})))
    })
    const up = await runCli([
      'up',
      ...stack,
      '--port',
      String(port),
      '--image-source',
      'local',
      '--wal-archive',
      '--quiet',
    ])
    expect(up.exitCode, up.stderr).to.equal(0)
  })

  after(() => cleanup.run())

  it('up --wal-archive archives the WAL into its own labelled volume, with a first full backup', async () => {
    const volume = await docker.getVolume(`${project}_backups`).inspect()
    expect(volume.Labels).to.include({'io.stackctl.project': project, 'io.stackctl.volume-role': 'backups'})
    expect(await psqlIn(project, 'SHOW archive_mode')).to.equal('on')
    const lsn = await psqlIn(project, 'SELECT pg_current_wal_lsn()')
    await visits(1)
    await archivedThrough(lsn)
    expect(Number(await psqlIn(project, 'SELECT archived_count FROM pg_stat_archiver'))).to.be.greaterThan(0)
    const doctor = await runCli(['doctor', ...stack, '--json'])
    const archiving = (JSON.parse(doctor.stdout) as {checks: Array<{name: string; status: string}>}).checks.find(
      (check) => check.name === 'archiving',
    )
    expect(archiving?.status, doctor.stdout).to.equal('ok')
    // describe reads pgBackRest's own account of the repository: the first full backup and the archived WAL.
    const described = await runCli(['describe', ...stack, '--json'])
    expect(described.exitCode, described.stderr).to.equal(0)
    const {archive} = (JSON.parse(described.stdout) as {backups: {archive: DescribedArchive | null}}).backups
    expect(archive).to.deep.include({volume: `${project}_backups`, status: 'ok'})
    expect(archive!.backups.map((b) => b.type)).to.deep.equal(['full'])
    expect(archive!.backups[0].label).to.match(/^\d{8}-\d{6}F$/)
    expect(archive!.wal?.max).to.match(/^[0-9A-F]{24}$/)
  })

  it('db upgrade refuses a stack that archives its WAL (the archive would refuse the new cluster), changing nothing', async () => {
    const before = await psqlIn(project, 'SELECT count(*) FROM visits')
    const upgrade = await runCli(['db', 'upgrade', '--to', '15', ...stack])
    expect(upgrade.exitCode, upgrade.stderr).to.equal(2)
    expect(upgrade.stderr).to.match(/db upgrade does not move the WAL archive to a new PostgreSQL major yet/)
    expect(upgrade.stderr).to.match(/--no-wal-archive/)
    expect(await psqlIn(project, 'SHOW archive_mode')).to.equal('on')
    expect(await psqlIn(project, 'SELECT count(*) FROM visits')).to.equal(before)
  })

  // Before any point-in-time restore: the visits are archived by archive_timeout alone, no segment switched by hand.
  it('brings a lost data volume back with every visit archived before the loss (--latest)', async () => {
    const written = await visits(5)
    await archivedThrough(await psqlIn(project, 'SELECT pg_current_wal_lsn()'))
    const all = (await psqlIn(project, 'SELECT id FROM visits ORDER BY id')).split('\n').map(Number)
    const lost = activeVolume()
    const [db] = await docker.listContainers({
      filters: {label: [`com.docker.compose.project=${project}`, 'com.docker.compose.service=db']},
    })
    await docker.getContainer(db.Id).remove({force: true})
    await docker.getVolume(lost).remove()

    const restore = await runCli(['db', 'restore', ...stack, '--latest'])
    expect(restore.exitCode, restore.stderr).to.equal(0)
    expect(await presentIds(written)).to.deep.equal(written)
    expect((await psqlIn(project, 'SELECT id FROM visits ORDER BY id')).split('\n').map(Number)).to.deep.equal(all)
  })
  it('restores to a named point: every visit before it, none after it, on a new volume with the old one kept', async () => {
    const before = await visits(4)
    await psqlIn(project, "SELECT pg_create_restore_point('protect-test-1')")
    const after = await visits(3)
    // Closed by hand: after a restore, archive_timeout was seen not to close the new timeline's first segment
    // (an open bug, see the lost-volume test, which runs on the first timeline for that reason).
    const lsn = await psqlIn(project, 'SELECT pg_current_wal_lsn()')
    await psqlIn(project, 'SELECT pg_switch_wal()')
    await archivedThrough(lsn)
    const oldVolume = activeVolume()

    const restore = await runCli(['db', 'restore', ...stack, '--to-name', 'protect-test-1'])
    expect(restore.exitCode, restore.stderr).to.equal(0)
    expect(restore.stdout).to.match(/recovery stopping at restore point "protect-test-1"/)
    expect(activeVolume()).to.not.equal(oldVolume)
    expect(await presentIds(before)).to.deep.equal(before)
    expect(await presentIds(after)).to.deep.equal([])
    // The old volume is kept, with the visits after the point still in it.
    await docker.getVolume(oldVolume).inspect()
  })

  it('refuses a time before the oldest backup, showing the range, with the stack untouched', async () => {
    const volume = activeVolume()
    const count = await psqlIn(project, 'SELECT count(*) FROM visits')
    const refused = await runCli(['db', 'restore', ...stack, '--to-time', '2000-01-01T00:00:00Z'])
    expect(refused.exitCode).to.equal(1)
    expect(refused.stderr).to.match(/before the oldest backup ended; the repository can restore from \S+/)
    expect(activeVolume()).to.equal(volume)
    expect(await psqlIn(project, 'SELECT count(*) FROM visits')).to.equal(count)
    const [db] = await docker.listContainers({
      filters: {label: [`com.docker.compose.project=${project}`, 'com.docker.compose.service=db']},
    })
    expect(db.Mounts.map((m) => m.Name)).to.include(volume)
  })
})
