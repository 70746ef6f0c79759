/**
 * Time as the waits see it: `now` and an interruptible `sleep`. Injected, so a unit test hands in a fake clock
 * and reaches any deadline without sleeping.
 */
export interface Clock {
  now(): number
  /** Resolves after `ms`, or as soon as `signal` fires; never rejects (the wait looks at the signal itself). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve()
      const done = () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      signal?.addEventListener('abort', done, {once: true})
    }),
}

/** The clock made of the separate `now` and `sleep` options older callers take; the system's for what is missing. */
export function clockOf(options: {now?: () => number; sleep?: (ms: number) => Promise<void>}): Clock {
  const {now, sleep} = options
  if (!now && !sleep) return systemClock
  return {now: now ?? systemClock.now, sleep: sleep ? (ms) => sleep(ms) : systemClock.sleep}
}
