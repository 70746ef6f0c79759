import type {Clock} from '../../../../src/lib/engine/wait/clock.js'

/**
 * A clock that only moves when told. By default a sleep advances it at once (no real waiting); `hold()` makes
 * sleeps wait for `advance()` or their signal instead, to see what a wait does while it sleeps.
 */
export class FakeClock implements Clock {
  nowMs = 1_000_000
  /** Every pause asked for, in ms. */
  readonly sleeps: number[] = []
  private held = false
  private pending: {untilMs: number; wake: () => void}[] = []

  now = (): number => this.nowMs

  hold(): this {
    this.held = true
    return this
  }

  sleep = async (ms: number, signal?: AbortSignal): Promise<void> => {
    this.sleeps.push(ms)
    if (signal?.aborted) return
    if (!this.held) {
      this.nowMs += ms
      return
    }
    await new Promise<void>((resolve) => {
      const wake = () => {
        this.pending = this.pending.filter((p) => p !== entry)
        signal?.removeEventListener('abort', wake)
        resolve()
      }
      const entry = {untilMs: this.nowMs + ms, wake}
      this.pending.push(entry)
      signal?.addEventListener('abort', wake, {once: true})
    })
  }

  /** How many sleeps are waiting for the clock to move. */
  get sleeping(): number {
    return this.pending.length
  }

  advance(ms: number): void {
    this.nowMs += ms
    for (const p of [...this.pending]) if (p.untilMs <= this.nowMs) p.wake()
  }
}

/** Lets every promise that can settle now do so (a fake clock never needs more). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}
