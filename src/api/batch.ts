/**
 * Group commit at the application level: calls that arrive while a batch is being written wait and go out
 * together as the next batch, one statement and one commit (one WAL flush) for all of them. Pure: what a
 * batch does is passed in, so ordering and error handling are unit-tested without a database.
 */

/** Writes `count` items at once and returns one result per item, in order. */
export type BatchWriter<T> = (count: number) => Promise<T[]>

interface Waiter<T> {
  resolve(value: T): void
  reject(error: unknown): void
}

export interface BatcherOptions {
  /** Largest batch; later arrivals wait for the next one. */
  maxSize: number
  /** Batches written at the same time (1: each batch starts after the previous one finished). */
  maxInFlight: number
}

export class Batcher<T> {
  private queue: Array<Waiter<T>> = []
  private inFlight = 0
  private scheduled = false

  constructor(
    private readonly write: BatchWriter<T>,
    private readonly options: BatcherOptions,
  ) {}

  /** Resolves with this item's result once its batch is written; rejects with the batch's error. */
  add(): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({resolve, reject})
      this.schedule()
    })
  }

  /** Items waiting for a batch, and batches being written (for tests and diagnostics). */
  get state(): {queued: number; inFlight: number} {
    return {queued: this.queue.length, inFlight: this.inFlight}
  }

  /**
   * Starts the next batch after the current I/O callbacks ran, so requests parsed in the same turn of the
   * event loop share a statement even when nothing is in flight.
   */
  private schedule(): void {
    if (this.scheduled || this.queue.length === 0 || this.inFlight >= this.options.maxInFlight) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      this.dispatch()
    })
  }

  /** Starts what the queue and maxInFlight allow; true when it started a batch. */
  private dispatch(): boolean {
    let started = false
    while (this.queue.length > 0 && this.inFlight < this.options.maxInFlight) {
      const batch = this.queue.splice(0, this.options.maxSize)
      this.inFlight++
      started = true
      void this.run(batch)
    }
    return started
  }

  /**
   * Writes one batch. When it is done, the batch that queued meanwhile is started first and this one's callers
   * are answered in the next turn of the event loop (setImmediate): the writer's statement goes out in the
   * ticks before that (a pool hands out its connection on process.nextTick), so the database works on it while
   * the replies are written instead of waiting for them. Answering in the same tick would run every reply's
   * continuation before the statement is even sent.
   */
  private async run(batch: Array<Waiter<T>>): Promise<void> {
    let settle: () => void
    try {
      const results = await this.write(batch.length)
      if (results.length !== batch.length) {
        throw new Error(`a batch of ${batch.length} visits returned ${results.length} results`)
      }
      settle = () => batch.forEach((waiter, i) => waiter.resolve(results[i]))
    } catch (error) {
      settle = () => batch.forEach((waiter) => waiter.reject(error))
    }
    this.inFlight--
    if (this.dispatch()) setImmediate(settle)
    else settle()
  }
}
