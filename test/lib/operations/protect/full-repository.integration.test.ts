/**
 * A full backup repository (issue 25's "Archiving failure"), on the real engine with real pgBackRest: the
 * stack's `<project>_backups` volume is a 64 MiB tmpfs the test creates before `up` (with the labels stackctl
 * gives the volume, but no stack id: `up` refuses it until it is adopted with --adopt, and then remembers it). A filler file fills it; visits keep being written through the API the whole time. The API serves
 * every visit, doctor and status name the full repository and pg_wal's growth, and once the filler is removed
 * archiving resumes by itself with no gap in the archived WAL from the first segment through the last visit's
 * (a `db restore --latest` replays exactly that range: the protection file proves the restore itself, and that
 * it refuses a gap; here it would double the file's cost).
 *
 * A tmpfs keeps its files only while something mounts it: a holder container keeps it mounted, as a disk
 * would be, and the filler is written and removed through it.
 */
import {expect} from 'chai'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {freePort, runCli} from '../../../helpers/cli.js'
import {Cleanup, docker, engine, psqlIn, removeComposeProject, uniqueName} from '../../../helpers/docker.js'

interface Check {
  name: string
  status: string
  detail: string
  fix: string | null
}

/** The segment after `name` on its timeline (16 MiB segments: 256 per log file). */
function nextSegment(name: string): string {
  const timeline = name.slice(0, 8)
  const log = Number.parseInt(name.slice(8, 16), 16)
  const seg = Number.parseInt(name.slice(16, 24), 16)
  const [nextLog, nextSeg] = seg === 0xff ? [log + 1, 0] : [log, seg + 1]
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, '0')
  return `${timeline}${hex(nextLog)}${hex(nextSeg)}`
}

/** The segments from `from` through `to` that the archive lacks: the gaps a restore would stop at. */
function missingSegments(archived: readonly string[], from: string, to: string): string[] {
  const have = new Set(archived)
  const missing: string[] = []
  for (let segment = from; segment <= to; segment = nextSegment(segment)) if (!have.has(segment)) missing.push(segment)
  return missing
}

describe('a full backup repository (64 MiB tmpfs): never silent, the API keeps serving, no gap once freed', function () {
  this.timeout(240_000)
  const project = uniqueName('fullrepo')
  const root = mkdtempSync(path.join(tmpdir(), 'stackctl-fullrepo-'))
  const dir = path.join(root, 'stack')
  const stack = ['--dir', dir, '--project-name', project]
  const backups = `${project}_backups`
  const holder = `${project}-holder`
  const cleanup = new Cleanup()
  let port: number
  /** Every visit the API acknowledged (status 200 with its id), and every request it did not answer so. */
  const acknowledged: number[] = []
  const refused: string[] = []
  let writing: Promise<void> | undefined
  let stopWriting = false
  let fullFrom = ''

  async function inHolder(script: string): Promise<{exitCode: number; stdout: string; stderr: string}> {
    return engine.containers.exec(holder, ['sh', '-c', script])
  }

  /** Visits one after another through the API until told to stop: the load the full period runs under. */
  async function writeVisits(): Promise<void> {
    while (!stopWriting) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/`)
        if (response.status === 200) acknowledged.push(((await response.json()) as {visit: {id: number}}).visit.id)
        else refused.push(`HTTP ${response.status}`)
      } catch (error) {
        refused.push(String(error))
      }
    }
  }

  async function archiver(): Promise<{lastArchived: string; lastFailed: string; failing: boolean}> {
    const line = await psqlIn(
      project,
      `SELECT coalesce(last_archived_wal, '') || '|' || coalesce(last_failed_wal, '') || '|' ||
        (coalesce(last_failed_time, '-infinity') > coalesce(last_archived_time, '-infinity')) FROM pg_stat_archiver`,
    )
    const [lastArchived, lastFailed, failing] = line.split('|')
    return {lastArchived, lastFailed, failing: failing === 'true'}
  }

  async function until<T>(what: string, withinMs: number, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + withinMs
    for (;;) {
      const value = await probe()
      if (value !== undefined) return value
      if (Date.now() > deadline)
        throw new Error(`${what} not within ${withinMs / 1000} s: ${JSON.stringify(await archiver())}`)
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  }

  async function archivingCheck(): Promise<{exitCode: number; check: Check | undefined; stdout: string}> {
    const doctor = await runCli(['doctor', ...stack, '--json'])
    const check = (JSON.parse(doctor.stdout) as {checks: Check[]}).checks.find((c) => c.name === 'archiving')
    return {exitCode: doctor.exitCode, check, stdout: doctor.stdout}
  }

  async function archivedSegments(): Promise<string[]> {
    const listed = await inHolder(`find /repo/archive -name '????????????????????????-*'`)
    return [...listed.stdout.matchAll(/\/([0-9A-F]{24})-[0-9a-f]+/g)].map((m) => m[1]).sort()
  }

  before(async () => {
    port = await freePort()
    cleanup.add(async () => rmSync(root, {recursive: true, force: true}))
    // Registered before the holder, so it runs after the holder is gone.
    // It also removes the tmpfs volume (by stackctl's project label on it), after the db that mounts it.
    cleanup.add(() => removeComposeProject(project))
    await docker.createVolume({
      Name: backups,
      Driver: 'local',
      DriverOpts: {type: 'tmpfs', device: 'tmpfs', o: 'size=64m'},
      Labels: {'io.stackctl.project': project, 'io.stackctl.volume-role': 'backups'},
    })
    cleanup.container(holder)
    const container = await docker.createContainer({
      name: holder,
      Image: 'stackctl/postgres:17',
      Entrypoint: ['sleep', 'infinity'],
      HostConfig: {Binds: [`${backups}:/repo`]},
    })
    await container.start()
    const upArgs = ['up', ...stack, '--port', String(port), '--image-source', 'local', '--wal-archive', '--quiet']
    // A volume of that name that this stack did not create is not taken as its repository without --adopt.
    const refused = await runCli(upArgs)
    expect(refused.exitCode, refused.stderr).to.not.equal(0)
    expect(refused.stderr).to.include(`volume ${backups} exists and was not created by this stack`)
    expect(refused.stderr).to.match(/stackctl up --adopt --dir /)
    expect(
      await docker.listContainers({all: true, filters: {label: [`com.docker.compose.project=${project}`]}}),
    ).to.deep.equal([])
    const up = await runCli([...upArgs, '--adopt'])
    expect(up.exitCode, up.stderr).to.equal(0)
    // Remembered: the next up takes it without --adopt.
    const again = await runCli(upArgs)
    expect(again.exitCode, again.stderr).to.equal(0)
  })

  after(async () => {
    stopWriting = true
    await writing
    await cleanup.run()
  })

  it('before it fills: doctor passes and status shows archiving ok with the repository size and free space', async () => {
    // Read-only: run side by side.
    const [{exitCode, check, stdout}, status] = await Promise.all([
      archivingCheck(),
      runCli(['status', ...stack, '--json']),
    ])
    expect(exitCode, stdout).to.equal(0)
    expect(check?.status, stdout).to.equal('ok')
    expect(check?.detail).to.match(/; repository \S+ \S+, \S+ MiB free of 64\.0 MiB$/)
    expect(status.exitCode, status.stderr).to.equal(0)
    const archiving = (JSON.parse(status.stdout) as {compose: {archiving: Check | null}}).compose.archiving
    expect(archiving?.status).to.equal('ok')
  })

  it('full: the API serves every visit; doctor exits 1 naming the full repository, its free space and pg_wal growing; status shows it', async () => {
    const filled = await inHolder('dd if=/dev/zero of=/repo/filler bs=1M 2>&1; df -B1 --output=avail /repo | tail -n 1')
    expect(filled.stdout, filled.stdout).to.match(/No space left on device[\s\S]*\n\s*0\s*$/)
    writing = writeVisits()
    // archive_timeout (10 s) closes the segment the visits go to; its archive-push then fails.
    const failing = await until('archiving failing', 60_000, async () => {
      const now = await archiver()
      return now.failing ? now : undefined
    })
    fullFrom = failing.lastFailed
    const [{exitCode, check, stdout}, human, json] = await Promise.all([
      archivingCheck(),
      runCli(['status', ...stack]),
      runCli(['status', ...stack, '--json']),
    ])
    expect(exitCode, stdout).to.equal(1)
    expect(check?.status, stdout).to.equal('fail')
    expect(check?.detail).to.match(
      new RegExp(
        `^archiving fails: the backup repository is full \\(volume ${backups}: 0 B free of 64\\.0 MiB\\), pgBackRest: \\[FileWriteError\\] unable to write '${fullFrom}-\\S+': \\[28\\] No space left on device; segment \\S+ failed \\d+ s ago`,
      ),
    )
    expect(check?.detail).to.match(/; pg_wal \d+ MiB and growing: [1-9]\d* finished segments? waits? in it \(\d+ MiB\)/)
    expect(check?.fix).to.match(
      new RegExp(`^make room on the filesystem that holds volume ${backups}: archiving then resumes by itself`),
    )
    expect(check?.fix).to.not.match(/\b(delete|rm|prune)\b|volume rm|remove (the|a) volume/i)

    expect(human.exitCode, human.stderr).to.equal(0)
    expect(human.stdout).to.match(
      /^archive {2}FAILING: archiving fails: the backup repository is full .*pg_wal \d+ MiB and growing/m,
    )
    const archiving = (JSON.parse(json.stdout) as {compose: {archiving: Check | null}}).compose.archiving
    expect(archiving?.status).to.equal('fail')
    expect(archiving?.detail).to.match(/repository is full.*pg_wal \d+ MiB and growing/)
    expect(refused).to.deep.equal([])
    expect(acknowledged.length).to.be.greaterThan(0)
  })

  it('freed: archiving resumes by itself, doctor passes, every acknowledged visit is in the db and the archive has no gap through the last', async () => {
    expect(fullFrom, 'the previous test filled the repository').to.match(/^[0-9A-F]{24}$/)
    stopWriting = true
    await writing
    expect(refused).to.deep.equal([])
    const ids = acknowledged.toSorted((a, b) => a - b)
    const inDb = await psqlIn(project, `SELECT count(*) FROM visits WHERE id IN (${ids.join(',')})`)
    expect(Number(inDb), `of ${ids.length} acknowledged visits`).to.equal(ids.length)
    const lsn = await psqlIn(project, 'SELECT pg_current_wal_lsn()')
    const last = await psqlIn(project, `SELECT pg_walfile_name('${lsn}'::pg_lsn - 1)`)
    const freed = await inHolder('rm /repo/filler')
    expect(freed.exitCode, freed.stderr).to.equal(0)
    // Nothing switched by hand: archive_timeout closes the last visits' segment, which wakes the archiver.
    await until('the last visit archived', 90_000, async () =>
      (await archiver()).lastArchived >= last ? true : undefined,
    )
    const {exitCode, check, stdout} = await archivingCheck()
    expect(exitCode, stdout).to.equal(0)
    expect(check?.status, stdout).to.equal('ok')
    // Every segment from the first archived one through the last visit's, those that waited included: what
    // a restore --latest replays to bring every acknowledged visit back (it stops at the first missing one).
    const segments = await archivedSegments()
    expect(segments).to.include(fullFrom)
    expect(missingSegments(segments, segments[0], last)).to.deep.equal([])
  })

  it('negative control: the gap check finds a segment removed from the archive', async () => {
    const segments = await archivedSegments()
    const victim = segments.find((s) => s > segments[0] && s < segments.at(-1)!)!
    const removed = await inHolder(`rm -v /repo/archive/visits/*/${victim.slice(0, 16)}/${victim}-*`)
    expect(removed.stdout).to.include(victim)
    expect(missingSegments(await archivedSegments(), segments[0], segments.at(-1)!)).to.deep.equal([victim])
  })
})
