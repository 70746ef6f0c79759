import {expect} from 'chai'
import {execFileSync, spawn} from 'node:child_process'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {ContainerSummary, ExecResult} from '../../../../src/lib/engine/engine.js'
import {
  checkSeconds,
  ensureBackupSchedule,
  parseLast,
  SCHEDULE_DIR,
  scheduleScript,
} from '../../../../src/lib/operations/protect/schedule.js'
import type {StackContext} from '../../../../src/lib/stack/context.js'

describe('scheduled backups: the loop and its record', () => {
  it('reads the line the loop writes, and nothing else', () => {
    expect(parseLast('1796619520|1796619521|diff|0|20261207-045828F_20261207-045840D|\n')).to.deep.equal({
      type: 'diff',
      at: '2026-12-07T04:58:40.000Z',
      seconds: 1,
      ok: true,
      label: '20261207-045828F_20261207-045840D',
      message: null,
    })
    expect(
      parseLast('1796619520|1796619530|full|28||ERROR: [047]: unable to create path: No space left on device'),
    ).to.include({
      ok: false,
      label: null,
      message: 'ERROR: [047]: unable to create path: No space left on device',
    })
    for (const junk of ['', 'x|y|full|0||', '1|2|incr|0||', '1|2|full|no||'])
      expect(parseLast(junk), junk).to.equal(undefined)
  })

  it('looks a quarter of the diff cadence apart, between 2 s and a minute', () => {
    expect(checkSeconds({everySeconds: 10, fullEverySeconds: 10})).to.equal(2)
    expect(checkSeconds({everySeconds: 120, fullEverySeconds: 600})).to.equal(30)
    expect(checkSeconds({everySeconds: 86_400, fullEverySeconds: 604_800})).to.equal(60)
  })

  it('is a valid sh script that never lets pgBackRest expire on its own and expires by --set only', () => {
    const script = scheduleScript()
    execFileSync('sh', ['-n', '-c', script])
    const backups = script.split('\n').filter((line) => / backup 2>&1/.test(line))
    expect(backups).to.have.length(1)
    expect(backups[0]).to.include('--no-expire-auto')
    const expires = script.split('\n').filter((line) => / expire\b/.test(line) && line.includes('pgbackrest'))
    expect(expires).to.have.length(1)
    expect(expires[0]).to.match(/--set="\$old" --repo1-retention-full=9999999 --repo1-retention-archive=9999999 expire/)
  })
})

/** A db container whose one exec answers `answer`; what was run is kept. */
function scheduleStack(
  answer: Partial<ExecResult>,
  backupSchedule: object | null = {everySeconds: 3600, fullEverySeconds: 86_400},
) {
  const execs: string[][] = []
  const detached: string[][] = []
  /** The user each exec and detached exec asked the engine for, in order. */
  const users: Array<string | undefined> = []
  const progress: string[] = []
  const engine = {
    containers: {
      async exec(_id: string, cmd: string[], options?: {user?: string}): Promise<ExecResult> {
        execs.push(cmd)
        users.push(options?.user)
        return {exitCode: 0, stdout: '', stderr: '', truncated: false, ...answer}
      },
      async execDetached(_id: string, cmd: string[], options?: {user?: string}) {
        detached.push(cmd)
        users.push(options?.user)
      },
    },
  }
  const ctx = {
    config: {project: 'p', dir: '/s/.stackctl', walArchive: true, backupSchedule: backupSchedule ?? undefined},
    engine,
    progress: (line: string) => progress.push(line),
  } as unknown as StackContext
  return {ctx, execs, detached, users, progress, db: {id: 'db1'} as ContainerSummary}
}

describe('scheduled backups: up writes the schedule and looks for the loop in one exec', () => {
  it('starts the loop when the exec says its lock is free', async () => {
    const s = scheduleStack({stdout: 'loop-stopped\n'})
    expect(await ensureBackupSchedule(s.ctx, s.db)).to.equal('started')
    expect(s.execs).to.have.length(1)
    expect(s.execs[0].join(' ')).to.include('flock -n /tmp/stackctl-backup-schedule.lock true')
    expect(s.detached).to.have.length(1)
    // The loop and its files belong to postgres, as pgBackRest's repository does: the engine runs both as it.
    expect(s.users).to.deep.equal(['postgres', 'postgres'])
    expect(s.detached[0]).to.deep.equal(['sh', `${SCHEDULE_DIR}/loop.sh`])
  })

  it('negative control: a loop that holds the lock is left alone, and so is a failed write', async () => {
    const running = scheduleStack({stdout: 'loop-running\n'})
    expect(await ensureBackupSchedule(running.ctx, running.db)).to.equal('running')
    expect(running.detached).to.be.empty
    const failed = scheduleStack({exitCode: 1, stderr: 'No space left on device'})
    expect(await ensureBackupSchedule(failed.ctx, failed.db)).to.equal('off')
    expect(failed.detached).to.be.empty
    expect(failed.progress[0]).to.match(/^warning: scheduled backups not set up: No space left on device/)
  })

  it('with the schedule off removes the settings and does not look for the loop', async () => {
    const s = scheduleStack({stdout: ''}, null)
    expect(await ensureBackupSchedule(s.ctx, s.db)).to.equal('off')
    const script = s.execs[0][s.execs[0].indexOf('-c') + 1]
    expect(script).to.include('rm -f').and.not.include('flock')
  })

  it('its probe, run by sh with a real flock, tells a held lock from a free one', async function () {
    this.timeout(10_000)
    const s = scheduleStack({stdout: ''})
    await ensureBackupSchedule(s.ctx, s.db)
    const dir = await mkdtemp(path.join(tmpdir(), 'schedule-probe-'))
    const lock = path.join(dir, 'lock')
    const script = s.execs[0][s.execs[0].indexOf('-c') + 1]
    const probe = /\{ flock .*; \}$/.exec(script)![0].replace('/tmp/stackctl-backup-schedule.lock', lock)
    const run = () => execFileSync('sh', ['-c', probe], {encoding: 'utf8'}).trim()
    try {
      expect(run()).to.equal('loop-stopped')
      const holder = spawn('flock', [lock, 'sleep', '5'], {stdio: 'ignore'})
      try {
        await new Promise((resolve) => setTimeout(resolve, 300))
        expect(run()).to.equal('loop-running')
      } finally {
        holder.kill()
      }
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})
