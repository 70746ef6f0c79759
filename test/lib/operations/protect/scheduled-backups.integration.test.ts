/**
 * Scheduled backups on one real archiving stack (PostgreSQL 17, pgBackRest), with cadences of seconds: the loop
 * in the db container takes a diff once the newest backup is `--backup-every` old and a full once the newest full
 * is `--full-backup-every` old; it keeps the newest 2 fulls that are not snapshots and expires older ones (up's
 * first backup included), never a snapshot, and never hangs a diff on a snapshot. A db restarted behind
 * stackctl's back has no loop: doctor warns, and its fix (`up`) starts it again. `--backup-every off` stops new
 * backups. The controls: the first full is seen expired (so "never a snapshot" can fail), and doctor's warning
 * is seen before the fix. snapshot create while another backup holds pgBackRest's lock waits for it, then takes
 * its snapshot: the other backup is held stopped until snapshot create says it waits (the control: pgBackRest's
 * info says the lock is held; before the wait, snapshot create failed there with pgBackRest's [050]).
 */
import {expect} from 'chai'
import {mkdtempSync, rmSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {freePort, runCli, spawnCli} from '../../../helpers/cli.js'
import {Cleanup, docker, removeComposeProject, uniqueName} from '../../../helpers/docker.js'

interface Backup {
  label: string
  type: 'full' | 'diff' | 'incr'
  prior: string | null
  annotation?: Record<string, string>
}

describe('scheduled backups: taken, kept and expired by the loop in the db container', function () {
  this.timeout(600_000)
  const project = uniqueName('sched')
  const root = mkdtempSync(path.join(tmpdir(), 'stackctl-sched-'))
  const dir = path.join(root, 'stack')
  const cleanup = new Cleanup()
  const stack = ['--dir', dir, '--project-name', project]

  async function dbId(): Promise<string> {
    const [db] = await docker.listContainers({
      filters: {label: [`com.docker.compose.project=${project}`, 'com.docker.compose.service=db']},
    })
    return db.Id
  }

  async function inDb(cmd: string[], user?: string): Promise<string> {
    const exec = await docker
      .getContainer(await dbId())
      .exec({Cmd: cmd, AttachStdout: true, AttachStderr: true, ...(user ? {User: user} : {})})
    const chunks: Buffer[] = []
    for await (const chunk of await exec.start({})) chunks.push(chunk as Buffer)
    // Drop the stream's 8-byte frame headers.
    const raw = Buffer.concat(chunks)
    const out: Buffer[] = []
    for (let at = 0; at + 8 <= raw.length;) {
      const size = raw.readUInt32BE(at + 4)
      out.push(raw.subarray(at + 8, at + 8 + size))
      at += 8 + size
    }
    return Buffer.concat(out).toString('utf8')
  }

  async function backups(): Promise<Backup[]> {
    const json = await inDb([
      'setpriv',
      '--reuid=postgres',
      '--regid=postgres',
      '--init-groups',
      '--',
      'pgbackrest',
      '--stanza=visits',
      '--output=json',
      'info',
    ])
    const [stanza] = JSON.parse(json) as Array<{backup: Backup[]}>
    return stanza.backup
  }

  async function until<T>(what: string, seconds: number, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + seconds * 1000
    for (;;) {
      const value = await probe()
      if (value !== undefined) return value
      if (Date.now() > deadline) throw new Error(`${what}: not within ${seconds} s`)
      await new Promise((resolve) => setTimeout(resolve, 1000))
    }
  }

  const scheduled = (b: Backup) => b.annotation?.['stackctl-schedule'] !== undefined
  const snapshotOf = (b: Backup) => b.annotation?.['stackctl-name']

  before(async () => {
    cleanup.add(async () => rmSync(root, {recursive: true, force: true}))
    cleanup.add(() => removeComposeProject(project))
    const port = await freePort()
    const up = await runCli([
      'up',
      ...stack,
      '--port',
      String(port),
      '--backup-every',
      '10s',
      '--full-backup-every',
      '1h',
    ])
    expect(up.exitCode, up.stderr).to.equal(0)
    expect(up.stdout + up.stderr).to.include(
      'scheduled backups: diff every 10s, full every 1h, the newest 2 scheduled fulls kept',
    )
  })

  after(() => cleanup.run())

  it('takes a diff once the newest backup is --backup-every old, on up’s first full; doctor and status show it', async () => {
    const first = (await backups()).find((b) => b.type === 'full')!
    const diff = await until('a scheduled diff', 60, async () =>
      (await backups()).find((b) => b.type === 'diff' && scheduled(b)),
    )
    expect(diff.prior).to.equal(first.label)
    const doctor = await runCli(['doctor', ...stack])
    expect(doctor.stdout).to.match(
      /ok +backups +diff every 10s, full every 1h, the newest 2 scheduled fulls kept; last: diff \S+D /,
    )
    const status = JSON.parse((await runCli(['status', ...stack, '--json'])).stdout) as {
      compose: {backups: {status: string; detail: string}}
    }
    expect(status.compose.backups.status).to.equal('ok')
  })

  it('refuses a bad cadence in one line with a hint, changing nothing', async () => {
    const before = await readFile(path.join(dir, 'stack.json'), 'utf8')
    for (const [value, line] of [
      ['5s', /^Error: --backup-every 5s is too short \(at least 10s\)$/m],
      ['10', /^Error: invalid --backup-every '10': expected a number and a unit \(s, m, h or d\)$/m],
    ] as const) {
      const refused = await runCli(['up', ...stack, '--backup-every', value])
      expect(refused.exitCode, refused.stderr).to.equal(2)
      expect(refused.stderr).to.match(line)
      expect(refused.stderr).to.match(/^Hint: e\.g\. --backup-every /m)
    }
    expect(await readFile(path.join(dir, 'stack.json'), 'utf8')).to.equal(before)
  })

  it('keeps the newest 2 fulls that are not snapshots, expiring older ones and never a snapshot, and hangs no diff on one', async () => {
    const firstFull = (await backups()).find((b) => b.type === 'full')!.label
    // A scheduled diff may be running (one is due every 10 s): snapshot create waits for it (the last test).
    const snapshot = await runCli(['snapshot', 'create', 'keep-me', ...stack])
    expect(snapshot.exitCode, snapshot.stderr).to.equal(0)
    // Fulls from now on: every round finds the newest full 10 s old.
    const faster = await runCli(['up', ...stack, '--full-backup-every', '10s'])
    expect(faster.exitCode, faster.stderr).to.equal(0)
    const fulls = await until('three scheduled fulls after the snapshot', 180, async () => {
      const all = await backups()
      const ours = all.filter((b) => b.type === 'full' && scheduled(b))
      return ours.length >= 2 && !all.some((b) => b.label === firstFull) ? all : undefined
    })
    // The control: up's first full (no snapshot) was expired by the schedule's retention.
    expect(fulls.map((b) => b.label)).to.not.include(firstFull)
    const notSnapshots = fulls.filter((b) => b.type === 'full' && snapshotOf(b) === undefined)
    expect(notSnapshots.length).to.be.at.most(2)
    expect(fulls.filter((b) => snapshotOf(b) === 'keep-me')).to.have.length(1)
    const snapshotLabel = fulls.find((b) => snapshotOf(b) === 'keep-me')!.label
    expect(fulls.filter((b) => b.prior === snapshotLabel && scheduled(b))).to.deep.equal([])
    const list = await runCli(['snapshot', 'list', ...stack])
    expect(list.stdout).to.match(/^keep-me +.* yes$/m)
  })

  it('a db restarted behind stackctl’s back has no loop: doctor warns, and its printed fix starts it again', async () => {
    const restore = await runCli(['up', ...stack, '--full-backup-every', '1h'])
    expect(restore.exitCode, restore.stderr).to.equal(0)
    await docker.getContainer(await dbId()).restart()
    const doctor = await until('doctor’s warning', 60, async () => {
      const run = await runCli(['doctor', ...stack])
      return / backups +scheduled backups .* are not running/.test(run.stdout) ? run : undefined
    })
    const fix = /fix: (stackctl up [^\n]*?) starts them again/.exec(doctor.stdout)?.[1]
    expect(fix, doctor.stdout).to.equal(`stackctl up --dir ${dir} --project-name ${project}`)
    const fixed = await runCli(fix!.split(' ').slice(1))
    expect(fixed.exitCode, fixed.stderr).to.equal(0)
    const again = await runCli(['doctor', ...stack])
    expect(again.stdout).to.match(/ok +backups +diff every 10s, full every 1h/)
  })

  it('--backup-every off: no new backup is taken, and doctor says the schedule is off', async () => {
    const off = await runCli(['up', ...stack, '--backup-every', 'off'])
    expect(off.exitCode, off.stderr).to.equal(0)
    // A backup already under way when the settings went may still finish: wait for it, then none may follow.
    await new Promise((resolve) => setTimeout(resolve, 6000))
    const labels = (await backups()).map((b) => b.label)
    // With --backup-every 10s a diff was due within 10 s of the last one; the loop looks every 2 s.
    await new Promise((resolve) => setTimeout(resolve, 15_000))
    expect((await backups()).map((b) => b.label)).to.deep.equal(labels)
    const doctor = await runCli(['doctor', ...stack])
    expect(doctor.stdout).to.match(/ok +backups +scheduled backups off \(--backup-every off\)/)
    expect(JSON.parse(await readFile(path.join(dir, 'stack.json'), 'utf8')).settings.backupEvery).to.equal('off')
  })

  /**
   * A backup started as the loop starts one, stopped (SIGSTOP) once it holds pgBackRest's lock (its lock file
   * has content); `release` lets it go (SIGCONT) and waits for it to end. No race with either backup's speed.
   */
  async function holdBackup(): Promise<{release: () => Promise<void>}> {
    const pidFile = '/tmp/stackctl-test-held-backup.pid'
    const lockFile = '/tmp/pgbackrest/visits-backup-1.lock'
    const hold = `pgbackrest --stanza=visits --no-expire-auto --annotation=stackctl-schedule=full --type=full backup > /tmp/held-backup.log 2>&1 &
pid=$!; i=0
while [ ! -s ${lockFile} ]; do i=$((i + 1)); [ $i -gt 600 ] && exit 1; sleep 0.05; done
kill -STOP $pid && echo $pid > ${pidFile}`
    // The exec ends once the backup is stopped (its output goes to a file, so it holds no stream of the exec).
    await inDb(['sh', '-c', hold], 'postgres')
    const state = await inDb(['sh', '-c', `cat /proc/$(cat ${pidFile})/status`])
    expect(state, 'the other backup is stopped').to.match(/State:\s+T/)
    // The control that the lock is taken: pgBackRest's own info says a backup is running.
    expect(await lockHeld(), 'pgBackRest’s lock is held').to.equal(true)
    let released = false
    return {
      async release() {
        if (released) return
        released = true
        await inDb(['sh', '-c', `kill -CONT $(cat ${pidFile}); rm -f ${pidFile}`], 'postgres')
        await until('the other backup’s end', 120, async () => ((await lockHeld()) ? undefined : true))
      },
    }
  }

  async function lockHeld(): Promise<boolean> {
    const info = await inDb(['pgbackrest', '--stanza=visits', '--output=json', 'info'], 'postgres')
    const [stanza] = JSON.parse(info) as Array<{status: {lock?: {backup?: {held?: boolean}}}}>
    return stanza.status.lock?.backup?.held === true
  }

  /** snapshot create NAME, once it says it waits for the other backup (it fails the test if it ends first). */
  async function snapshotWaiting(name: string) {
    const snapshot = spawnCli(['snapshot', 'create', name, ...stack])
    await until('snapshot create waiting for the other backup', 120, async () => {
      const said = snapshot.output.stderr + snapshot.output.stdout
      if (snapshot.child.exitCode !== null) throw new Error(`snapshot create ended without waiting:\n${said}`)
      return /waiting for it to end/.test(said) ? true : undefined
    })
    return snapshot
  }

  it('snapshot create while another backup holds pgBackRest’s lock waits for it to end, then takes its snapshot', async () => {
    const before = new Set((await backups()).map((b) => b.label))
    const held = await holdBackup()
    try {
      const snapshot = await snapshotWaiting('after-the-other')
      await held.release()
      const done = await snapshot.result
      expect(done.exitCode, done.stderr).to.equal(0)
      expect(done.stdout + done.stderr).to.match(/the other backup ended after \d+ s of waiting/)
    } finally {
      await held.release()
    }
    const added = (await backups()).filter((b) => !before.has(b.label))
    // Both backups are complete: the held one was not broken by the wait, and the snapshot came after it.
    expect(added.map((b) => [b.type, snapshotOf(b) ?? b.annotation?.['stackctl-schedule']])).to.deep.equal([
      ['full', 'full'],
      ['full', 'after-the-other'],
    ])
    const list = await runCli(['snapshot', 'list', ...stack])
    expect(list.stdout).to.match(/^after-the-other +.* yes$/m)
  })

  it('Ctrl-C while snapshot create waits for another backup: exit 130, no snapshot, the other backup untouched', async () => {
    const before = new Set((await backups()).map((b) => b.label))
    const held = await holdBackup()
    try {
      const snapshot = await snapshotWaiting('never-taken')
      snapshot.child.kill('SIGINT')
      const done = await snapshot.result
      expect(done.exitCode, done.stderr).to.equal(130)
      expect(done.stderr).to.include(
        "interrupted: snapshot create stopped while waiting for the other backup to end: no snapshot 'never-taken' was taken; nothing was changed",
      )
      // The control that the signal came during the wait: the other backup still holds the lock.
      expect(await lockHeld()).to.equal(true)
    } finally {
      await held.release()
    }
    const added = (await backups()).filter((b) => !before.has(b.label))
    expect(added.map((b) => [b.type, snapshotOf(b) ?? b.annotation?.['stackctl-schedule']])).to.deep.equal([
      ['full', 'full'],
    ])
  })
})
