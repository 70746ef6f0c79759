/**
 * Exponential backoff with jitter, for waiting on a database that is still starting. The delay is random
 * between half and all of the exponential step, so instances started together do not retry in lockstep.
 */
export interface BackoffOptions {
  initialMs: number
  maxMs: number
}

export const DEFAULT_BACKOFF: BackoffOptions = {initialMs: 250, maxMs: 5000}

/** The delay before retry number `attempt` (1 for the first retry). */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const step = Math.min(options.maxMs, options.initialMs * 2 ** Math.max(0, attempt - 1))
  return Math.round(step / 2 + (random() * step) / 2)
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, {once: true})
  })
}

export interface RetryOptions {
  backoff?: BackoffOptions
  /** Errors for which this returns false are thrown at once. */
  retryable: (error: unknown) => boolean
  onRetry: (error: unknown, attempt: number, delayMs: number) => void
  signal?: AbortSignal
}

/** Runs `task` until it succeeds, a non-retryable error occurs or the signal aborts; never gives up otherwise. */
export async function retry<T>(task: () => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted()
    try {
      return await task()
    } catch (error) {
      if (!options.retryable(error) || options.signal?.aborted) throw error
      const delay = backoffDelay(attempt, options.backoff ?? DEFAULT_BACKOFF)
      options.onRetry(error, attempt, delay)
      await sleep(delay, options.signal)
    }
  }
}
