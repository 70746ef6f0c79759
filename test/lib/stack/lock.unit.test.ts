import {expect} from 'chai'
import {spawn, type ChildProcess} from 'node:child_process'
import {once} from 'node:events'
import {
  existsSync,
  mkdirSync,
  readdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import {hostname, tmpdir} from 'node:os'
import path from 'node:path'

import {isStale, lockFile, parseOwner, projectLockFile, withStackLock} from '../../../src/lib/stack/lock.js'
import {stackPaths, writeState, type StackState} from '../../../src/lib/model/stackdir/stack-files.js'
import {processIdentity, startTicksFromStat} from '../../../src/lib/stack/process-identity.js'
import type {Clock} from '../../../src/lib/engine/wait/clock.js'
import {FakeClock} from '../engine/wait/fake-clock.js'
import {rejection} from '../../support/rejection.js'

/** Every wait here runs on a fake clock: the order of events is set by promises, never by sleeping. */
describe('stack lock', () => {
  let root: string
  let dir: string
  let savedStateDir: string | undefined
  const target = (project = 'demo', stackDir = dir) => ({paths: {dir: stackDir}, config: {project}})

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'stackctl-lock-'))
    dir = path.join(root, 'stack')
    mkdirSync(dir)
    savedStateDir = process.env.STACKCTL_STATE_DIR
    process.env.STACKCTL_STATE_DIR = path.join(root, 'state')
  })
  afterEach(() => {
    if (savedStateDir === undefined) delete process.env.STACKCTL_STATE_DIR
    else process.env.STACKCTL_STATE_DIR = savedStateDir
    rmSync(root, {recursive: true, force: true})
  })

  it('holds both locks while the work runs and releases them afterwards', async () => {
    const seen = await withStackLock(target(), 'up', async () => [
      existsSync(lockFile(dir)),
      existsSync(projectLockFile('demo')),
    ])
    expect(seen).to.deep.equal([true, true])
    expect(readdirSync(dir), 'no temporary file is left').to.deep.equal([])
    expect(existsSync(lockFile(dir))).to.equal(false)
    expect(existsSync(projectLockFile('demo'))).to.equal(false)
  })

  it('keys the project lock by the engine endpoint and project', () => {
    const here = projectLockFile('demo', {STACKCTL_STATE_DIR: '/s'})
    expect(projectLockFile('demo', {STACKCTL_STATE_DIR: '/s', DOCKER_HOST: 'tcp://other:2375'})).to.not.equal(here)
    expect(projectLockFile('other', {STACKCTL_STATE_DIR: '/s'})).to.not.equal(here)
    expect(path.basename(here)).to.equal('demo.lock')
  })

  it('makes a second holder fail clearly, naming the first', async () => {
    // A live process of this host (our parent) holds the directory's lock.
    const owner = {pid: process.ppid, command: 'down', host: hostname(), since: '2026-01-01T00:00:00.000Z'}
    writeFileSync(lockFile(dir), JSON.stringify(owner))
    const clock = new FakeClock()
    const error = await rejection(withStackLock(target(), 'up', async () => 'ran', {waitMs: 300, pollMs: 50, clock}))
    expect(error.message).to.include(`'stackctl down' (pid ${process.ppid}`)
    expect(clock.sleeps, 'it waited --wait, a poll at a time').to.deep.equal([50, 50, 50, 50, 50, 50])
    expect(error.exitCode).to.equal(2)
    expect(existsSync(lockFile(dir))).to.equal(true) // someone else's lock is left alone
    expect(existsSync(projectLockFile('demo'))).to.equal(false) // and ours released on the way out
  })

  it('locks the project across stack directories: a command from elsewhere waits, then fails', async () => {
    const other = path.join(root, 'other')
    mkdirSync(other)
    let release: () => void = () => {}
    let holding: () => void = () => {}
    const held = new Promise<void>((resolve) => (holding = resolve))
    const first = withStackLock(target('demo', dir), 'verify-persistence', () => {
      holding()
      return new Promise<void>((resolve) => (release = resolve))
    })
    await held
    const clock = new FakeClock()
    const error = await rejection(
      withStackLock(target('demo', other), 'down', async () => 'ran', {waitMs: 200, pollMs: 25, clock}),
    )
    expect(clock.sleeps.length, 'it waited for the holder before failing').to.equal(8)
    expect(error.message).to.match(/project 'demo' is busy: 'stackctl verify-persistence'/)
    // Another project is not held up.
    expect(await withStackLock(target('else', other), 'down', async () => 'ran', {clock})).to.equal('ran')
    release()
    await first
  })

  it('takes over a stale lock from a dead process', async () => {
    const owner = {pid: 2 ** 22 + 12345, command: 'up', host: hostname(), since: '2026-01-01T00:00:00.000Z'}
    writeFileSync(lockFile(dir), JSON.stringify(owner))
    const clock = new FakeClock()
    expect(await withStackLock(target(), 'up', async () => 'ran', {waitMs: 300, clock})).to.equal('ran')
    expect(clock.sleeps, 'taken over at the first look').to.deep.equal([])
  })

  it('never writes through a symbolic link planted at the lock path', async () => {
    const victim = path.join(root, 'victim')
    writeFileSync(victim, 'untouched')
    symlinkSync(victim, lockFile(dir))
    const clock = new FakeClock()
    const error = await rejection(withStackLock(target(), 'up', async () => 'ran', {waitMs: 100, pollMs: 25, clock}))
    expect(error.message).to.include('is a symbolic link')
    expect(readFileSync(victim, 'utf8')).to.equal('untouched')
    expect(existsSync(projectLockFile('demo'))).to.equal(false)
  })

  /**
   * `second` waits while `first` holds the lock and runs `meanwhile` before letting go; what the second command
   * then does (or the error it refuses with). Its context read stack.json before it waited.
   */
  async function afterWaiting(meanwhile: () => Promise<void>): Promise<unknown> {
    const paths = stackPaths(dir)
    const before: StackState = {stackId: '0123456789abcdef', settings: {project: 'demo', volume: 'demo_postgres_data'}}
    await writeState(paths, before)
    let release: () => void = () => {}
    let holding: () => void = () => {}
    const held = new Promise<void>((resolve) => (holding = resolve))
    const first = withStackLock(target(), 'db restore', async () => {
      holding()
      await new Promise<void>((resolve) => (release = resolve))
      await meanwhile()
    })
    await held
    const fake = new FakeClock()
    const clock: Clock = {now: fake.now, sleep: async (ms) => (await fake.sleep(ms), await first)}
    return withStackLock({paths, config: {project: 'demo'}, state: before}, 'db restore', async () => 'ran', {
      waitMs: 10_000,
      pollMs: 25,
      clock,
      onBusy: () => release(),
    }).catch((error: unknown) => error)
  }

  it('refuses to act on stack.json read before it waited, when the holder changed it meanwhile (nothing run)', async () => {
    const outcome = await afterWaiting(() =>
      writeState(stackPaths(dir), {
        stackId: '0123456789abcdef',
        settings: {project: 'demo', volume: 'demo_postgres_data_pg17'},
      }),
    )
    expect(outcome).to.be.instanceOf(Error)
    expect((outcome as Error).message).to.match(
      /^'stackctl db restore' \(pid \d+\) changed the stack while db restore waited for its lock; db restore did nothing$/,
    )
    // Control: a holder that left stack.json as it was lets the waiting command run.
    expect(await afterWaiting(async () => {})).to.equal('ran')
  })

  const READ: StackState = {stackId: '0123456789abcdef', settings: {project: 'demo', volume: 'demo_postgres_data'}}

  /**
   * The race without a wait: this command reads stack.json, another one takes the lock, runs `meanwhile` and
   * releases it, all before this one's first look at the lock, which it then finds free. What this one does.
   */
  async function afterOtherFinished(
    meanwhile: () => Promise<void>,
    options: {read?: StackState; adopt?: boolean} = {read: READ},
  ): Promise<unknown> {
    const {read, adopt = false} = options
    const paths = stackPaths(dir)
    if (read) await writeState(paths, read)
    await withStackLock(target(), 'db restore', meanwhile)
    let ran = false
    const clock = new FakeClock()
    const outcome = await withStackLock(
      {paths, config: {project: 'demo'}, state: read, adopt},
      'db restore',
      async () => {
        ran = true
        return 'ran'
      },
      {clock},
    ).catch((error: unknown) => error)
    expect(clock.sleeps, 'the lock was free: no wait').to.deep.equal([])
    expect(ran, 'runs exactly when it answers ran').to.equal(outcome === 'ran')
    return outcome
  }

  it('refuses to act on stack.json read before another command changed it and let go, though it never waited', async () => {
    const paths = stackPaths(dir)
    const changed: StackState = {
      stackId: '0123456789abcdef',
      settings: {project: 'demo', volume: 'demo_postgres_data_pg17'},
    }
    const outcome = await afterOtherFinished(() => writeState(paths, changed))
    expect(outcome).to.be.instanceOf(Error)
    expect((outcome as Error).message).to.equal(
      `${paths.stateFile} changed after db restore read it; db restore did nothing`,
    )
    expect((outcome as {exitCode?: number}).exitCode).to.equal(2)
    expect((outcome as {suggestion?: string}).suggestion).to.equal(
      'run the same command again: it starts from the stack as it is now',
    )
    // The other command's result is left as it wrote it.
    expect(JSON.parse(readFileSync(paths.stateFile, 'utf8'))).to.deep.equal(changed)
    // Control: a command in between that left stack.json as it was lets this one run.
    expect(await afterOtherFinished(async () => {})).to.equal('ran')
  })

  it('lets a command on a new stack run, and refuses it when another one created the stack meanwhile', async () => {
    // Nothing read and nothing there: the first up of a stack.
    expect(await afterOtherFinished(async () => {}, {})).to.equal('ran')
    const created: StackState = {stackId: '0123456789abcdef', settings: {project: 'demo'}}
    const outcome = await afterOtherFinished(() => writeState(stackPaths(dir), created), {})
    expect((outcome as Error).message).to.match(/stack\.json changed after db restore read it; db restore did nothing$/)
  })

  it('lets --adopt re-attach a directory whose stack.json it could not read, and nothing else', async () => {
    const paths = stackPaths(dir)
    writeFileSync(paths.stateFile, '{"garbled"')
    expect(await afterOtherFinished(async () => {}, {adopt: true})).to.equal('ran')
    // Without --adopt an unreadable stack.json stops the command, as loading the stack would have.
    const outcome = await afterOtherFinished(async () => {}, {adopt: false})
    expect((outcome as Error).message).to.match(
      /stack\.json .*so stackctl cannot tell which stack this directory belongs to$/,
    )
    // --adopt does not hide a stack that another command wrote over the unreadable file meanwhile.
    const written: StackState = {stackId: '0123456789abcdef', settings: {project: 'demo'}}
    const refused = await afterOtherFinished(() => writeState(paths, written), {adopt: true})
    expect((refused as Error).message).to.match(/changed after db restore read it; db restore did nothing$/)
  })

  it('waits for a lock that is released meanwhile', async () => {
    let release: (value: string) => void = () => {}
    let holding: () => void = () => {}
    const held = new Promise<void>((resolve) => (holding = resolve))
    const first = withStackLock(target(), 'up', () => {
      holding()
      return new Promise<string>((resolve) => (release = resolve))
    })
    await held
    let sawBusy = false
    // The first holder lets go only once the second has found the lock held, and the second's pause lasts
    // until the first has released both locks: the second must have waited, and looks again only then.
    const fake = new FakeClock()
    const clock: Clock = {
      now: fake.now,
      sleep: async (ms) => {
        await fake.sleep(ms)
        await first
      },
    }
    const second = await withStackLock(target(), 'down', async () => 'second', {
      waitMs: 10_000,
      pollMs: 25,
      clock,
      onBusy: (owner) => {
        sawBusy = owner.command === 'up' && owner.pid === process.pid
        release('first')
      },
    })
    expect(sawBusy).to.equal(true)
    expect(fake.sleeps, 'one pause, then the lock was free').to.deep.equal([25])
    expect(await first).to.equal('first')
    expect(second).to.equal('second')
  })

  describe('stale locks', () => {
    let sleeper: ChildProcess | undefined
    afterEach(async () => {
      if (sleeper?.exitCode === null && sleeper.signalCode === null) {
        const exited = once(sleeper, 'exit')
        sleeper.kill('SIGKILL')
        await exited
      }
      sleeper = undefined
    })

    /** A real, unrelated, long-lived process of this host. */
    async function unrelatedProcess(): Promise<number> {
      sleeper = spawn('sleep', ['30'], {stdio: 'ignore'})
      await once(sleeper, 'spawn')
      return sleeper.pid!
    }

    const base = {command: 'up', host: hostname(), since: '2026-01-01T00:00:00.000Z'}
    const takesOver = async (content: string, waitMs = 300) => {
      writeFileSync(lockFile(dir), content)
      const clock = new FakeClock()
      expect(
        await withStackLock(target(), 'up', async () => readFileSync(lockFile(dir), 'utf8'), {
          waitMs,
          pollMs: 25,
          clock,
        }),
      ).to.include(`"pid":${process.pid}`)
      expect(existsSync(lockFile(dir))).to.equal(false)
    }

    it('takes over an empty lock file', () => takesOver(''))
    it('takes over a lock of pid 0', () => takesOver(JSON.stringify({...base, pid: 0})))
    it('gives an unreadable lock found at the deadline one more look, and takes it over if unchanged', () =>
      takesOver('', 0))

    it('refuses an unreadable lock that keeps changing (a writer is still at it), after the wait', async () => {
      const fake = new FakeClock()
      let writes = 0
      // Between any two looks the lock is rewritten, as by a writer that has not finished: never judged stale.
      const clock: Clock = {
        now: fake.now,
        sleep: async (ms) => {
          await fake.sleep(ms)
          writeFileSync(lockFile(dir), 'x'.repeat(++writes))
        },
      }
      writeFileSync(lockFile(dir), '')
      const error = await rejection(withStackLock(target(), 'up', async () => 'ran', {waitMs: 100, pollMs: 25, clock}))
      expect(error.message).to.include('another stackctl command holds its lock')
      expect(readFileSync(lockFile(dir), 'utf8'), 'the writer’s file is left alone').to.equal('x'.repeat(writes))
      // Four pauses within the wait, and one more look for the lock unreadable at its end.
      expect(fake.sleeps).to.deep.equal([25, 25, 25, 25, 25])
    })

    it('takes over a garbled lock', async () => {
      await takesOver('{"pid": 12')
      await takesOver('not a lock at all')
      await takesOver(JSON.stringify({...base, pid: 'x'}))
    })

    it('takes over a lock whose pid now names an unrelated process, and keeps one that names its owner', async () => {
      const pid = await unrelatedProcess()
      const identity = processIdentity(pid)
      expect(identity, 'the process can be identified through /proc').to.not.equal(undefined)
      // Negative control: the same live process, with its real start time, still holds the lock.
      writeFileSync(lockFile(dir), JSON.stringify({...base, pid, ...identity}))
      const clock = new FakeClock()
      const error = await rejection(
        withStackLock(target(), 'down', async () => 'ran', {waitMs: 150, pollMs: 25, clock}),
      )
      expect(error.message).to.include(`'stackctl up' (pid ${pid}`)
      // Started at another time than the lock says: the pid was reused.
      await takesOver(JSON.stringify({...base, pid, ...identity, startTicks: identity!.startTicks + 1}))
      // Or in another boot.
      await takesOver(JSON.stringify({...base, pid, ...identity, bootId: 'another-boot'}))
      expect(sleeper!.exitCode).to.equal(null) // the unrelated process is not touched
    })

    it('judges locks of other hosts only by an impossible pid', () => {
      const identify = () => ({bootId: 'b', startTicks: 1})
      expect(isStale({...base, host: 'elsewhere', pid: 2 ** 22 + 12345}, identify)).to.equal(false)
      expect(isStale({...base, host: 'elsewhere', pid: 0}, identify)).to.equal(true)
      expect(isStale({...base, host: 'elsewhere', pid: -1}, identify)).to.equal(true)
      // An older stackctl's lock, without a start time, is judged by its pid alone.
      expect(isStale({...base, pid: process.pid}, identify)).to.equal(false)
      expect(isStale({...base, pid: process.pid, bootId: 'b', startTicks: 2}, identify)).to.equal(true)
      expect(isStale({...base, pid: process.pid, bootId: 'b', startTicks: 1}, identify)).to.equal(false)
    })

    it('reads owners and start times defensively', () => {
      expect(parseOwner('')).to.equal(undefined)
      expect(parseOwner('null')).to.equal(undefined)
      expect(parseOwner('{"pid":1}')).to.equal(undefined)
      expect(parseOwner(JSON.stringify({...base, pid: 7, startTicks: 5}))).to.deep.equal({...base, pid: 7})
      // A command name may hold spaces and parentheses; field 22 is counted from the last ')'.
      const stat = '4242 (we (ird) name) S 1 4242 4242 0 -1 4194560 120 0 0 0 1 0 0 0 20 0 1 0 987654 1000 100'
      expect(startTicksFromStat(stat)).to.equal(987654)
      expect(startTicksFromStat('garbage')).to.equal(undefined)
    })
  })
})
