/**
 * Writes visits and remembers each write (bench/protection-judge.ts's Write): `connections` loops of
 * `GET /` through the API, and optionally a psql batch of `rows` visits every `everyMs` (the counter bumped in
 * the same statement, so the API's total stays exact). The writer can be paused: pause() resolves once no
 * write is in flight, so a restore point or an LSN taken then has no write across it.
 */
import type {Psql} from '../src/lib/operations/db/psql.js'
import {assertLoopback} from './api-load.js'
import type {Write} from './protection-judge.js'

/** ms since the epoch, sub-ms: the clock the db container shares. */
export const now = () => performance.timeOrigin + performance.now()

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const RETRY_AFTER_FAILURE_MS = 50

/** One statement (one transaction): `rows` visits at now(), shard 0 of the counter bumped by as many, their ids. */
export function batchSql(rows: number): string {
  return [
    `WITH batch AS (INSERT INTO visits (visited_at) SELECT now() FROM generate_series(1, ${rows}) RETURNING id),`,
    `bumped AS (UPDATE visit_counter SET n = n + ${rows} WHERE shard = 0 RETURNING n)`,
    `SELECT array_to_string(array_agg(id ORDER BY id), ',') FROM batch WHERE (SELECT count(*) FROM bumped) = 1`,
  ].join(' ')
}

export class VisitWriter {
  readonly writes: Write[] = []
  private stopped = false
  private inFlight = 0
  private gate: Promise<void> | undefined
  private open: (() => void) | undefined
  private readonly loops: Array<Promise<void>> = []

  constructor(
    private readonly url: string,
    private readonly options: {connections: number; batch?: {psql: Psql; rows: number; everyMs: number}},
  ) {
    assertLoopback(url)
  }

  start(): void {
    for (let i = 0; i < this.options.connections; i++) this.loops.push(this.apiLoop())
    if (this.options.batch) this.loops.push(this.batchLoop(this.options.batch))
  }

  /** Resolves once every write in flight has its answer; no new one starts until resume(). */
  async pause(): Promise<void> {
    this.gate ??= new Promise((resolve) => (this.open = resolve))
    while (this.inFlight > 0) await sleep(2)
  }

  resume(): void {
    this.open?.()
    this.gate = undefined
  }

  /** Lets every loop finish its write in flight and stop. */
  async stop(): Promise<void> {
    this.stopped = true
    this.resume()
    await Promise.all(this.loops)
  }

  get acknowledged(): number {
    return this.writes.reduce((sum, write) => sum + (write.ackAt === undefined ? 0 : write.ids.length), 0)
  }

  private async track(send: () => Promise<number[] | undefined>): Promise<boolean> {
    while (this.gate) await this.gate
    if (this.stopped) return false
    this.inFlight++
    const sentAt = now()
    try {
      const ids = await send()
      this.writes.push(ids ? {ids, sentAt, ackAt: now()} : {ids: [], sentAt})
      return ids !== undefined
    } catch {
      this.writes.push({ids: [], sentAt})
      return false
    } finally {
      this.inFlight--
    }
  }

  private async apiLoop(): Promise<void> {
    while (!this.stopped) {
      const ok = await this.track(async () => {
        const response = await fetch(`${this.url}/`, {signal: AbortSignal.timeout(10_000)})
        if (response.status !== 200) {
          await response.body?.cancel()
          return undefined
        }
        return [((await response.json()) as {visit: {id: number}}).visit.id]
      })
      if (!ok) await sleep(RETRY_AFTER_FAILURE_MS)
    }
  }

  private async batchLoop(batch: {psql: Psql; rows: number; everyMs: number}): Promise<void> {
    while (!this.stopped) {
      const started = Date.now()
      await this.track(async () => {
        const ids = await batch.psql.query(batchSql(batch.rows))
        if (ids === '') throw new Error('the batch found no counter row to bump')
        return ids.split(',').map(Number)
      })
      await sleep(Math.max(0, batch.everyMs - (Date.now() - started)))
    }
  }
}
