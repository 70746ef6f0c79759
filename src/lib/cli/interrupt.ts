/**
 * Ctrl-C and SIGTERM for every long command, in one place. The command's work receives an AbortSignal that
 * fires on the first signal; the work then finishes or undoes its current step, and ends with Interrupted
 * (exit 130) saying what it did. Further signals while it cleans up are reported, not obeyed: a half-done
 * cleanup is worse than a slow one.
 */
import {Interrupted} from '../errors.js'

export interface InterruptOptions {
  /** Where to say that a repeated signal is being ignored (stderr by default). */
  notice?: (line: string) => void
}

export async function withInterrupts<T>(
  work: (signal: AbortSignal) => Promise<T>,
  options: InterruptOptions = {},
): Promise<T> {
  const controller = new AbortController()
  const notice = options.notice ?? ((line: string) => process.stderr.write(`${line}\n`))
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      notice(`${name} again: still cleaning up so the stack is left as it was; please wait`)
      return
    }
    controller.abort(new Interrupted(`${name === 'SIGINT' ? 'Ctrl-C' : name} received`))
  }
  // `on`, not `once`: the process runner's exit hook re-raises a signal that finds no other listener.
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    return await work(controller.signal)
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/** Throws Interrupted when the signal has fired: call it between steps. */
export function checkInterrupted(signal: AbortSignal | undefined, what: string, suggestion?: string): void {
  if (signal?.aborted) throw new Interrupted(what, suggestion)
}

/** True when an error is (or was caused by) an interrupt. */
export function isInterrupt(error: unknown, signal?: AbortSignal): boolean {
  return error instanceof Interrupted || Boolean(signal?.aborted)
}
