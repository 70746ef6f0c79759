/**
 * Named snapshots on one real archiving stack (PostgreSQL 17, pgBackRest): two snapshots with different visit
 * counts, listed with their counts; a duplicate or bad name refused with nothing changed; Ctrl-C during a
 * snapshot's backup leaves no snapshot and no backup running; restoring each snapshot by name gives exactly its
 * count (the second is the first's negative control) in a new volume, the old one kept; delete removes one
 * from the list and no volume. The restore points made before snapshot restore, db import and down --volumes:
 * their printed db restore, pasted, gives back exactly the visits there were, across the timelines later
 * restores started (the point made after the change is the negative control).
 */
import {expect} from 'chai'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {
  SnapshotCreateResult,
  SnapshotListResult,
  SnapshotRestoreResult,
} from '../../src/lib/operations/protect/snapshot-run.js'
import type {RestoreResult} from '../../src/lib/operations/backup-restore/restore.js'
import type {TargetDownReport} from '../../src/lib/targets/target.js'
import {freePort, runCli, spawnCli} from '../helpers/cli.js'
import {Cleanup, docker, psqlIn, removeComposeProject, uniqueName, volumeExists} from '../helpers/docker.js'

describe('snapshot create, list, restore, delete', function () {
  this.timeout(600_000)
  const project = uniqueName('snap')
  const root = mkdtempSync(path.join(tmpdir(), 'stackctl-snap-'))
  const dir = path.join(root, 'stack')
  const cleanup = new Cleanup()
  const stack = ['--dir', dir, '--project-name', project]

  /** n visits in one statement, the API's counter kept equal (a restore's proof checks the two agree). */
  async function addVisits(n: number): Promise<void> {
    await psqlIn(
      project,
      `WITH v AS (INSERT INTO visits (visited_at) SELECT now() FROM generate_series(1, ${n}) RETURNING 1)
       INSERT INTO visit_counter (shard, n) SELECT 0, count(*) FROM v
       ON CONFLICT (shard) DO UPDATE SET n = visit_counter.n + EXCLUDED.n`,
    )
  }

  async function create(name: string): Promise<SnapshotCreateResult> {
    const result = await runCli(['snapshot', 'create', name, ...stack, '--json'])
    expect(result.exitCode, result.stderr).to.equal(0)
    return JSON.parse(result.stdout) as SnapshotCreateResult
  }

  async function list(): Promise<SnapshotListResult> {
    const result = await runCli(['snapshot', 'list', ...stack, '--json'])
    expect(result.exitCode, result.stderr).to.equal(0)
    return JSON.parse(result.stdout) as SnapshotListResult
  }

  async function projectVolumes(): Promise<string[]> {
    const {Volumes} = await docker.listVolumes({filters: {label: [`io.stackctl.project=${project}`]}})
    return (Volumes ?? []).map((v) => v.Name).sort()
  }

  /** stdout of a command in the db container (dockerode's multiplexed stream: frame headers dropped by the filter). */
  async function inDb(cmd: string[]): Promise<string> {
    const [db] = await docker.listContainers({
      filters: {label: [`com.docker.compose.project=${project}`, 'com.docker.compose.service=db']},
    })
    const exec = await docker.getContainer(db.Id).exec({Cmd: cmd, AttachStdout: true})
    const stream = await exec.start({})
    const chunks: Buffer[] = []
    for await (const chunk of stream) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks).toString('utf8')
  }

  /** Every archived WAL file in the repository. */
  async function archivedWal(): Promise<string[]> {
    const out = await inDb(['find', '/var/lib/pgbackrest/archive', '-type', 'f', '-name', '0000*'])
    return out
      .split('\n')
      .map((line) => /0000[0-9A-F]{20}\S*/.exec(line)?.[0])
      .filter((name): name is string => name !== undefined)
      .sort()
  }

  async function backupProcesses(): Promise<string> {
    return (await inDb(['ps', '-e', '-o', 'args']))
      .split('\n')
      .filter((line) => /pgbackrest .*backup/.test(line) && !line.includes('archive-'))
      .join('\n')
  }

  let first: SnapshotCreateResult
  /** `snapshot ls` as the first test saw it: what a refusal must leave as it was. */
  let table: string
  let second: SnapshotCreateResult
  let port: number

  /** The restore point a command printed, and its printed command run as printed (every word, no shell). */
  function printedPoint(stdout: string): {name: string; command: string} {
    const line =
      /^restore point (before-[a-z-]+-\d{8}T\d{6}Z(?:-\d+)?) \((stackctl db restore --to-name \1 .*) returns here\)$/m.exec(
        stdout,
      )
    expect(line, stdout).to.not.equal(null)
    return {name: line![1], command: line![2]}
  }

  async function runPrinted(command: string): Promise<Awaited<ReturnType<typeof runCli>>> {
    const [program, ...args] = command.split(' ')
    expect(program).to.equal('stackctl')
    return runCli(args, {cwd: root})
  }

  const count = () => psqlIn(project, 'SELECT count(*) FROM visits')

  before(async () => {
    cleanup.add(async () => rmSync(root, {recursive: true, force: true}))
    cleanup.add(() => removeComposeProject(project))
    port = await freePort()
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
    await addVisits(3000)
    first = await create('first')
    await addVisits(2000)
    second = await create('second')
  })

  after(() => cleanup.run())

  it('creates snapshots that record their visit counts, and lists both with them', async () => {
    expect(first).to.include({name: 'first', type: 'full'})
    expect(first.visits).to.deep.equal({min: 3000, max: 3000})
    expect(second.visits).to.deep.equal({min: 5000, max: 5000})
    const listed = await list()
    const rows = listed.snapshots.map((s) => [s.name, s.visits?.min, s.pgMajor, s.type, s.restorable])
    expect(rows).to.deep.equal([
      ['first', 3000, 17, 'full', true],
      ['second', 5000, 17, 'full', true],
    ])
    expect(listed.recoverable?.text).to.match(/^from .* to the end of WAL segment [0-9A-F]{24}$/)
    const ls = await runCli(['snapshot', 'ls', ...stack])
    expect(ls.exitCode, ls.stderr).to.equal(0)
    expect(ls.stdout).to.match(/^first\s+\S+ \S+\s+[\d.]+ [kM]?B\s+3000\s+17\s+full\s+yes$/m)
    expect(ls.stdout).to.match(/^second\s+\S+ \S+\s+[\d.]+ [kM]?B\s+5000\s+17\s+full\s+yes$/m)
    expect(ls.stdout).to.match(/^point-in-time restore \(db restore\): from /m)
    table = ls.stdout
  })

  it('refuses a duplicate name, a bad name and an unconfirmed restore with exit 2, changing nothing', async () => {
    const duplicate = await runCli(['snapshot', 'create', 'first', ...stack])
    expect(duplicate.exitCode, duplicate.stderr).to.equal(2)
    expect(duplicate.stderr).to.match(/a snapshot named 'first' exists/)
    const bad = await runCli(['snapshot', 'create', 'bad/name', ...stack])
    expect(bad.exitCode, bad.stderr).to.equal(2)
    expect(bad.stderr).to.match(/invalid snapshot name 'bad\/name'/)
    const unconfirmed = await runCli(['snapshot', 'restore', 'first', ...stack])
    expect(unconfirmed.exitCode, unconfirmed.stderr).to.equal(2)
    expect(unconfirmed.stderr).to.match(/without confirmation/)
    // The duplicate's hint, as printed, lists the snapshots: the same as before the refusals.
    const hint = /Hint: pick another name; (stackctl snapshot list .*) shows the names/.exec(duplicate.stderr)?.[1]
    expect(hint, duplicate.stderr).to.be.a('string')
    const [, ...hintArgs] = hint!.split(' ')
    const listed = await runCli(hintArgs, {cwd: root})
    expect(listed.exitCode, listed.stderr).to.equal(0)
    // The snapshots' rows; the point-in-time range below them grows as the WAL is archived (archive_timeout).
    const rows = (text: string) => text.split('\n').filter((line) => !line.startsWith('point-in-time restore'))
    expect(rows(listed.stdout)).to.deep.equal(rows(table))
    expect(await psqlIn(project, 'SELECT count(*) FROM visits')).to.equal('5000')
  })

  it('Ctrl-C during the backup exits 130, stops the backup and leaves no snapshot', async () => {
    const run = spawnCli(['snapshot', 'create', 'interrupted', ...stack])
    while (!/taking snapshot 'interrupted'/.test(run.output.stderr)) {
      expect(run.child.exitCode, run.output.stderr).to.equal(null)
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    run.child.kill('SIGINT')
    const result = await run.result
    expect(result.exitCode, result.stderr).to.equal(130)
    expect(result.stderr, result.stderr).to.match(/no snapshot 'interrupted' was taken/)
    // Before the fix the backup ran on in the container and finished as a snapshot seconds later.
    expect(await backupProcesses()).to.equal('')
    expect((await list()).snapshots.map((s) => s.name)).to.deep.equal(['first', 'second'])
  })

  it('restores a snapshot by name into a new volume with exactly its count, the old volume kept', async () => {
    const oldVolume = `${project}_postgres_data`
    const restored = await runCli(['snapshot', 'restore', 'first', '--force', ...stack, '--json'])
    expect(restored.exitCode, restored.stderr).to.equal(0)
    const result = JSON.parse(restored.stdout) as SnapshotRestoreResult
    expect(result.snapshot.name).to.equal('first')
    expect(result.backup).to.equal(first.label)
    expect(result.proof.visits).to.equal(3000)
    expect(result.from).to.include({volume: oldVolume, exists: true})
    expect(result.to.volume).to.not.equal(oldVolume)
    expect(await psqlIn(project, 'SELECT count(*) FROM visits')).to.equal('3000')
    expect(await volumeExists(oldVolume)).to.equal(true)
    // Negative control: the other snapshot restores its own count, so the check tells them apart.
    const again = await runCli(['snapshot', 'restore', 'second', '--force', ...stack])
    expect(again.exitCode, again.stderr).to.equal(0)
    expect(again.stdout).to.match(/restored snapshot 'second' .*: 5000 visits/)
    expect(again.stdout).to.match(new RegExp(`kept: ${result.to.volume} \\(stackctl db prune-old .* removes it`))
    expect(await psqlIn(project, 'SELECT count(*) FROM visits')).to.equal('5000')
    expect(await volumeExists(result.to.volume)).to.equal(true)
    // status offers for the old volumes only what works on them: db rollback returns only from db upgrade.
    const status = await runCli(['status', ...stack])
    const old = status.stdout.split('\n').filter((line) => line.startsWith('old '))
    expect(old, status.stdout).to.have.length(2)
    for (const line of old) expect(line).to.include('stackctl db prune-old').and.not.include('db rollback')
  })

  it('names a restore point before snapshot restore; its printed db restore gives every visit back, on the timeline the snapshot restore left', async () => {
    await addVisits(250)
    expect(await count()).to.equal('5250')
    const restored = await runCli(['snapshot', 'restore', 'first', '--force', ...stack])
    expect(restored.exitCode, restored.stderr).to.equal(0)
    expect(await count()).to.equal('3000')
    const point = printedPoint(restored.stdout)
    expect(point.command).to.include(`--dir ${dir} --project-name ${project}`)

    const back = await runPrinted(point.command)
    expect(back.exitCode, back.stderr).to.equal(0)
    expect(back.stdout).to.include(`recovery stopping at restore point "${point.name}"`)
    expect(await count()).to.equal('5250')

    // Negative control: the point db restore made before it changed anything (3000 visits, after the snapshot
    // restore) brings back 3000, not 5250: the count tells the points apart. It too is on a timeline a restore
    // has left since.
    const later = printedPoint(back.stdout)
    expect(later.name).to.match(/^before-db-restore-/)
    const control = await runPrinted(later.command)
    expect(control.exitCode, control.stderr).to.equal(0)
    expect(await count()).to.equal('3000')

    // A snapshot's name is a restore point too, reachable after restores moved the stack to later timelines:
    // 'second' was made on the first timeline, with 5000 visits (its record names the timeline to follow).
    const named = await runCli(['db', 'restore', '--to-name', 'second', ...stack])
    expect(named.exitCode, named.stderr).to.equal(0)
    expect(named.stdout).to.include('recovery stopping at restore point "second"')
    expect(await count()).to.equal('5000')
  })

  it('delete --force removes the snapshot from the list and no volume', async () => {
    const volumes = await projectVolumes()
    const wal = await archivedWal()
    expect(wal.length).to.be.greaterThan(3)
    const deleted = await runCli(['snapshot', 'delete', 'first', '--force', ...stack, '--json'])
    expect(deleted.exitCode, deleted.stderr).to.equal(0)
    expect((await list()).snapshots.map((s) => s.name)).to.deep.equal(['second'])
    expect(await projectVolumes()).to.deep.equal(volumes)
    // No archived WAL file went with it (without delete's retention overrides, expire removed one: seen).
    const kept = new Set(await archivedWal())
    expect(wal.filter((name) => !kept.has(name))).to.deep.equal([])
    const gone = await runCli(['snapshot', 'delete', 'first', '--force', ...stack])
    expect(gone.exitCode, gone.stderr).to.equal(2)
    expect(gone.stderr).to.match(/no snapshot named 'first'/)
  })

  it('names a restore point before volume restore; Ctrl-C while it waits for the archive exits 130, nothing else done', async () => {
    const file = path.join(root, 'visits.dump')
    const backup = await runCli(['volume', 'backup', file, ...stack])
    expect(backup.exitCode, backup.stderr).to.equal(0)
    const restored = await runCli(['volume', 'restore', file, '--force', ...stack, '--json'])
    expect(restored.exitCode, restored.stderr).to.equal(0)
    const point = (JSON.parse(restored.stdout) as RestoreResult).restorePoint
    expect(point?.name).to.match(/^before-volume-restore-\d{8}T\d{6}Z/)
    expect(point?.returnCommand).to.equal(
      `stackctl db restore --to-name ${point?.name} --dir ${dir} --project-name ${project}`,
    )

    // The archive refuses writes for a while (its directories read-only to their owner): the point waits.
    const archiveWritable = (flag: string) =>
      inDb([
        'setpriv',
        '--reuid=postgres',
        '--regid=postgres',
        '--init-groups',
        '--',
        'sh',
        '-c',
        `find /var/lib/pgbackrest/archive -type d -exec chmod u${flag}w {} +`,
      ])
    const databases = () => psqlIn(project, 'SELECT datname FROM pg_database ORDER BY 1')
    const before = {visits: await count(), databases: await databases()}
    await archiveWritable('-')
    try {
      const run = spawnCli(['volume', 'restore', file, '--force', ...stack])
      let waiting: RegExpExecArray | null = null
      while (
        !(waiting = /waiting for WAL segment \S+ \(restore point (\S+)\) to reach the archive/.exec(run.output.stderr))
      ) {
        expect(run.child.exitCode, run.output.stderr).to.equal(null)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      run.child.kill('SIGINT')
      const result = await run.result
      expect(result.exitCode, result.stderr).to.equal(130)
      expect(result.stderr).to.include(
        `interrupted: volume restore stopped while its restore point was made: ${waiting[1]} is in the WAL, its archiving not awaited; nothing else was done`,
      )
      expect(result.stdout).to.not.match(/^restore point /m)
    } finally {
      await archiveWritable('+')
    }
    expect({visits: await count(), databases: await databases()}).to.deep.equal(before)
  })

  it('names a restore point before db import; its printed db restore gives back the rows the import deleted', async () => {
    const before = await count()
    const sql = path.join(root, 'prune.sql')
    writeFileSync(sql, 'DELETE FROM visits WHERE id % 2 = 0;\n')
    const imported = await runCli(['db', 'import', sql, '--force', ...stack])
    expect(imported.exitCode, imported.stderr).to.equal(0)
    expect(Number(await count())).to.be.lessThan(Number(before))
    const point = printedPoint(imported.stdout)
    expect(point.name).to.match(/^before-db-import-/)
    const back = await runPrinted(point.command)
    expect(back.exitCode, back.stderr).to.equal(0)
    expect(await count()).to.equal(before)
  })

  it('names a restore point before down --volumes; after up, its printed db restore brings the visits back', async () => {
    await addVisits(40)
    const before = await count()
    const down = await runCli(['down', '--volumes', '--force', ...stack, '--json'])
    expect(down.exitCode, down.stderr).to.equal(0)
    const report = JSON.parse(down.stdout) as TargetDownReport
    expect(report.volume.deleted).to.equal(true)
    expect(report.restorePoint?.name).to.match(/^before-down-volumes-\d{8}T\d{6}Z/)
    expect(await volumeExists(`${project}_backups`)).to.equal(true)
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
    expect(await count()).to.equal('0')

    const back = await runPrinted(report.restorePoint!.returnCommand)
    expect(back.exitCode, back.stderr).to.equal(0)
    expect(await count()).to.equal(before)
    // The fresh cluster up started is not the one the archive holds: no point was made before this restore.
    expect(back.stderr).to.match(
      /no restore point before db restore: the running db .* is not the cluster the WAL archive holds/,
    )
    expect(back.stdout).to.not.match(/^restore point /m)
  })
})
