/**
 * One way to wait for something: a probe takes one look and says ready, waiting or failed; `waitUntil` repeats
 * it with pauses until it is ready, fails, the deadline passes or the signal fires, and returns which as a typed
 * outcome carrying the last observation, so the caller words the error (a timeout names what was still missing).
 * In the spirit of testcontainers-node's wait strategies; the loop is written once, here, and tested on a fake
 * clock.
 *
 * A probe that throws ends the wait with that error, unless `probeError` turns the error into an observation
 * to keep waiting with (a daemon still starting refuses connections, and that is worth waiting out).
 */
import createDebug from 'debug'

import {type Clock, systemClock} from './clock.js'
import {Deadline} from './deadline.js'

const debug = createDebug('stackctl:wait')

export type Look<T, O> = {state: 'ready'; value: T} | {state: 'waiting'; observed: O} | {state: 'failed'; observed: O}

export function ready<T>(value: T): {state: 'ready'; value: T} {
  return {state: 'ready', value}
}

/** Not yet: look again after a pause. */
export function waiting<O>(observed: O): {state: 'waiting'; observed: O} {
  return {state: 'waiting', observed}
}

/** Waiting cannot mend what this look saw: the wait ends now. */
export function failed<O>(observed: O): {state: 'failed'; observed: O} {
  return {state: 'failed', observed}
}

/** One look; `attempt` counts from 1. */
export type Probe<T, O> = (attempt: number) => Promise<Look<T, O>>

interface Counted {
  /** How many looks were taken. */
  attempts: number
  elapsedMs: number
}

export type Outcome<T, O> =
  | ({state: 'ready'; value: T} & Counted)
  | ({state: 'failed'; last: O} & Counted)
  | ({state: 'timed-out'; last: O} & Counted)
  /** `last` is undefined when the signal had fired before the first look. */
  | ({state: 'aborted'; last: O | undefined; reason: unknown} & Counted)

export interface WaitUntilOptions<O> {
  /** How long from now; or a `deadline` shared with other waits (it wins when both are given). Neither: no limit. */
  timeoutMs?: number
  deadline?: Deadline
  /** The pause between looks (500 ms unless given); `backoff` instead when it should vary by attempt. */
  intervalMs?: number
  /** The pause after look number `attempt`. */
  backoff?: (attempt: number) => number
  signal?: AbortSignal
  clock?: Clock
  /** What is waited for, for the debug log (DEBUG=stackctl:wait). */
  describe?: string
  /** Turns an error thrown by the probe into an observation and keeps waiting; rethrow from it to end the wait. */
  probeError?: (error: unknown) => O
  /**
   * Whether the last pause is cut short so the final look happens at the deadline (the default: a timeout is
   * reported when it is due). False keeps every pause whole, for a probe that compares one look with the previous
   * and needs them a full interval apart.
   */
  lastLookAtDeadline?: boolean
}

export async function waitUntil<T, O>(probe: Probe<T, O>, options: WaitUntilOptions<O> = {}): Promise<Outcome<T, O>> {
  const clock = options.clock ?? options.deadline?.clock ?? systemClock
  const startedMs = clock.now()
  const deadline = options.deadline ?? Deadline.after(options.timeoutMs ?? Infinity, clock)
  const pause = options.backoff ?? (() => options.intervalMs ?? 500)
  const what = options.describe ?? 'a wait'
  const {signal} = options
  let last: O | undefined
  let attempts = 0
  const counted = () => ({attempts, elapsedMs: clock.now() - startedMs})
  const aborted = () => ({state: 'aborted' as const, last, reason: signal?.reason, ...counted()})
  for (;;) {
    if (signal?.aborted) return aborted()
    attempts++
    let look: Look<T, O>
    try {
      look = await probe(attempts)
    } catch (error) {
      if (!options.probeError) throw error
      look = waiting(options.probeError(error))
    }
    debug('%s: look %d: %s', what, attempts, look.state)
    if (look.state === 'ready') return {state: 'ready', value: look.value, ...counted()}
    const observed = look.observed
    last = observed
    if (look.state === 'failed') return {state: 'failed', last: observed, ...counted()}
    if (signal?.aborted) return aborted()
    if (deadline.expired()) return {state: 'timed-out', last: observed, ...counted()}
    const ms = pause(attempts)
    await clock.sleep(options.lastLookAtDeadline === false ? ms : Math.min(ms, deadline.remainingMs()), signal)
  }
}

/** Pauses that grow by `factor` from `initialMs` up to `maxMs`: for `backoff`. */
export function exponentialBackoff(initialMs: number, maxMs: number, factor = 2): (attempt: number) => number {
  return (attempt) => Math.min(maxMs, initialMs * factor ** (attempt - 1))
}
