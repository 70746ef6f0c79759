import {expect} from 'chai'

import {systemClock} from '../../../../src/lib/engine/wait/clock.js'
import {Deadline} from '../../../../src/lib/engine/wait/deadline.js'
import {
  exponentialBackoff,
  failed,
  type Look,
  type Outcome,
  ready,
  waitUntil,
  waiting,
} from '../../../../src/lib/engine/wait/wait-until.js'
import {FakeClock, settle} from './fake-clock.js'

/** A probe that is ready on look `n` and reports how many looks it took before that. */
function readyOn(n: number) {
  let looks = 0
  return async (): Promise<Look<string, number>> => (++looks >= n ? ready(`ready after ${looks}`) : waiting(looks))
}

describe('waitUntil', () => {
  it('is ready on the Nth look, pausing the interval between looks', async () => {
    const clock = new FakeClock()
    const outcome = await waitUntil(readyOn(4), {timeoutMs: 60_000, intervalMs: 500, clock})
    expect(outcome).to.deep.equal({state: 'ready', value: 'ready after 4', attempts: 4, elapsedMs: 1500})
    expect(clock.sleeps).to.deep.equal([500, 500, 500])
  })

  it('does not pause before the first look, nor after a ready one', async () => {
    const clock = new FakeClock()
    expect(await waitUntil(readyOn(1), {timeoutMs: 1000, clock})).to.include({state: 'ready', attempts: 1})
    expect(clock.sleeps).to.deep.equal([])
  })

  it('times out with the last observation, after a last look at the deadline', async () => {
    const clock = new FakeClock()
    const outcome = await waitUntil(readyOn(100), {timeoutMs: 1200, intervalMs: 500, clock})
    expect(outcome).to.deep.equal({state: 'timed-out', last: 4, attempts: 4, elapsedMs: 1200})
    // The last pause is cut to the deadline; control: with whole pauses the last look comes after it.
    expect(clock.sleeps).to.deep.equal([500, 500, 200])
    const whole = new FakeClock()
    const late = await waitUntil(readyOn(100), {
      timeoutMs: 1200,
      intervalMs: 500,
      clock: whole,
      lastLookAtDeadline: false,
    })
    expect(late).to.deep.equal({state: 'timed-out', last: 4, attempts: 4, elapsedMs: 1500})
  })

  it('looks once even when the deadline has passed, and is ready if that look is', async () => {
    const clock = new FakeClock()
    const deadline = new Deadline(clock.now() - 1, clock)
    expect(await waitUntil(readyOn(1), {deadline})).to.include({state: 'ready', attempts: 1})
    expect(await waitUntil(readyOn(2), {deadline})).to.include({state: 'timed-out', last: 1, attempts: 1})
  })

  it('ends at once at a failed look, with what it saw', async () => {
    const clock = new FakeClock()
    let looks = 0
    const probe = async (): Promise<Look<never, string>> => (++looks === 2 ? failed('db exited') : waiting('starting'))
    expect(await waitUntil(probe, {timeoutMs: 60_000, clock})).to.deep.equal({
      state: 'failed',
      last: 'db exited',
      attempts: 2,
      elapsedMs: 500,
    })
  })

  it('honours a backoff instead of the interval', async () => {
    const clock = new FakeClock()
    await waitUntil(readyOn(6), {timeoutMs: 60_000, intervalMs: 1, backoff: exponentialBackoff(100, 1000), clock})
    expect(clock.sleeps).to.deep.equal([100, 200, 400, 800, 1000])
  })

  it('shares one deadline between waits: the second has only what the first left', async () => {
    const clock = new FakeClock()
    const deadline = Deadline.after(3000, clock)
    expect(await waitUntil(readyOn(5), {deadline, intervalMs: 500})).to.include({state: 'ready', elapsedMs: 2000})
    const second = await waitUntil(readyOn(100), {deadline, intervalMs: 500})
    expect(second).to.include({state: 'timed-out', elapsedMs: 1000, attempts: 3})
    expect(clock.now()).to.equal(deadline.atMs)
  })

  describe('aborting', () => {
    it('does not look at all when the signal has already fired', async () => {
      const controller = new AbortController()
      controller.abort(new Error('Ctrl-C received'))
      let looks = 0
      const outcome = await waitUntil(
        async () => {
          looks++
          return ready(true)
        },
        {signal: controller.signal, clock: new FakeClock()},
      )
      expect(looks).to.equal(0)
      expect(outcome).to.include({state: 'aborted', last: undefined, attempts: 0})
      expect(String((outcome as Extract<Outcome<boolean, never>, {state: 'aborted'}>).reason)).to.include('Ctrl-C')
    })

    it('stops in the middle of a pause, without the clock moving, keeping the last observation', async () => {
      const clock = new FakeClock().hold()
      const controller = new AbortController()
      const wait = waitUntil(readyOn(100), {timeoutMs: 60_000, intervalMs: 10_000, signal: controller.signal, clock})
      await settle()
      expect(clock.sleeping, 'the wait is pausing after its first look').to.equal(1)
      controller.abort(new Error('SIGTERM received'))
      const outcome = await wait
      expect(outcome).to.include({state: 'aborted', last: 1, attempts: 1, elapsedMs: 0})
      // Control: without the signal the same wait is still pausing.
      const other = waitUntil(readyOn(2), {timeoutMs: 60_000, intervalMs: 10_000, clock})
      await settle()
      expect(clock.sleeping).to.equal(1)
      clock.advance(10_000)
      expect(await other).to.include({state: 'ready', attempts: 2})
    })

    it('stops after a look that found it not ready when the signal fired during the look', async () => {
      const controller = new AbortController()
      const outcome = await waitUntil(
        async (): Promise<Look<never, string>> => {
          controller.abort()
          return waiting('still starting')
        },
        {timeoutMs: 60_000, signal: controller.signal, clock: new FakeClock()},
      )
      expect(outcome).to.include({state: 'aborted', last: 'still starting', attempts: 1})
    })

    it('the system clock’s pause ends when the signal fires', async () => {
      const controller = new AbortController()
      const pause = systemClock.sleep(600_000, controller.signal)
      controller.abort()
      await pause // a pause that ignored the signal would hold the test until mocha's timeout
    })
  })

  describe('probe errors', () => {
    it('end the wait with the probe’s error by default', async () => {
      const clock = new FakeClock()
      const error = await waitUntil(
        async () => {
          throw new Error('engine unreachable')
        },
        {timeoutMs: 60_000, clock},
      ).catch((caught: unknown) => caught)
      expect(String(error)).to.include('engine unreachable')
      expect(clock.sleeps).to.deep.equal([])
    })

    it('are waited out when probeError turns them into observations, and the timeout reports the last one', async () => {
      const clock = new FakeClock()
      let looks = 0
      const probe = async (): Promise<Look<string, string>> => {
        looks++
        if (looks < 3) throw new Error(`connection refused (${looks})`)
        return looks === 3 ? waiting('starting') : ready('up')
      }
      const probeError = (error: unknown) => (error as Error).message
      expect(await waitUntil(probe, {timeoutMs: 60_000, clock, probeError})).to.include({state: 'ready', attempts: 4})
      looks = 0
      const onlyErrors = async (): Promise<Look<string, string>> => {
        throw new Error(`connection refused (${++looks})`)
      }
      expect(await waitUntil(onlyErrors, {timeoutMs: 1000, clock, probeError})).to.include({
        state: 'timed-out',
        last: 'connection refused (3)',
      })
    })

    it('still end the wait when probeError rethrows', async () => {
      const error = await waitUntil(
        async () => {
          throw new Error('permission denied')
        },
        {
          clock: new FakeClock(),
          probeError: (e) => {
            if (String(e).includes('denied')) throw e
            return 'retry'
          },
        },
      ).catch((caught: unknown) => caught)
      expect(String(error)).to.include('permission denied')
    })
  })
})
