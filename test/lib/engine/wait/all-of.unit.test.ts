import {expect} from 'chai'

import {allOf} from '../../../../src/lib/engine/wait/all-of.js'
import {failed, type Look, ready, waitUntil, waiting} from '../../../../src/lib/engine/wait/wait-until.js'
import {FakeClock} from './fake-clock.js'

/** A probe over a list that empties one item per look: ready when it is empty. */
function draining(items: string[]) {
  const left = [...items]
  return async (): Promise<Look<number, string[]>> => {
    const seen = [...left]
    left.shift()
    return seen.length === 0 ? ready(0) : waiting(seen)
  }
}

describe('allOf', () => {
  it('is ready when every condition holds at the same look, with their values by name', async () => {
    const clock = new FakeClock()
    const probe = allOf({networks: draining(['n1']), tasks: draining(['t1', 't2', 't3'])})
    const outcome = await waitUntil(probe, {timeoutMs: 60_000, clock})
    expect(outcome).to.deep.include({state: 'ready', value: {networks: 0, tasks: 0}, attempts: 4})
  })

  it('times out naming only what was still missing', async () => {
    const clock = new FakeClock()
    const stuck = async (): Promise<Look<number, string[]>> => waiting(['demo_default'])
    const outcome = await waitUntil(allOf({networks: stuck, tasks: draining(['t1'])}), {timeoutMs: 2000, clock})
    expect(outcome).to.deep.include({state: 'timed-out', last: {networks: ['demo_default']}})
  })

  it('fails at the first look where one condition fails, though the others wait', async () => {
    const clock = new FakeClock()
    let looks = 0
    const crashing = async (): Promise<Look<number, string>> => (++looks === 2 ? failed('exited') : waiting('starting'))
    const outcome = await waitUntil(allOf({db: crashing, app: draining(['a', 'b', 'c'])}), {timeoutMs: 60_000, clock})
    expect(outcome).to.deep.include({state: 'failed', last: {db: 'exited', app: ['b', 'c']}, attempts: 2})
  })
})
