/**
 * The writer: N visits through the API (`GET /`) from C concurrent clients. Every attempt is counted and the
 * id of every acknowledged visit (HTTP 200 with a visit id) is kept, because those are the ones the database
 * promised to keep. Anything else is a failure, and a failed attempt may still have committed.
 */
import {Agent, get} from 'node:http'

import createDebug from 'debug'

import {foreignStack, STACK_HEADER} from '../../../api/healthz-protocol.js'

const debug = createDebug('stackctl:persistence')

export interface WriterOptions {
  url: string
  visits: number
  concurrency: number
  /** An attempt that has no answer by then counts as failed. */
  requestTimeoutMs?: number
  /** Told of each answer as it comes (a failover check times the write outage from these). */
  onOutcome?: (acknowledged: boolean) => void
  /** The stack id the API must answer for: another stack's answer on this port is no acknowledgement here. */
  stack?: string
}

export interface WriterState {
  attempted: number
  acknowledged: number
  failed: number
  inFlight: number
}

export interface WriteResult extends WriterState {
  acknowledgedIds: number[]
  /** The first few distinct failure descriptions, for the report. */
  errors: string[]
}

const MAX_ERRORS = 5

export class VisitWriter {
  private attempted = 0
  private failed = 0
  private inFlight = 0
  private stopped = false
  /** The attempts the clients make before they stop by themselves: the visits asked for, until keepGoing(). */
  private cap: number
  private readonly ids: number[] = []
  private readonly errors: string[] = []
  private readonly listeners = new Set<() => void>()
  private finished = false

  constructor(private readonly options: WriterOptions) {
    this.cap = options.visits
  }

  get state(): WriterState {
    return {attempted: this.attempted, acknowledged: this.ids.length, failed: this.failed, inFlight: this.inFlight}
  }

  /** Runs the clients until N attempts were made (or stop() was called) and every answer is in. */
  async run(): Promise<WriteResult> {
    const clients = Math.min(this.options.concurrency, this.options.visits)
    // One kept-alive connection per client, closed at the end so nothing holds the process open.
    const agent = new Agent({keepAlive: true, maxSockets: clients})
    try {
      await Promise.all(Array.from({length: clients}, () => this.client(agent)))
    } finally {
      agent.destroy()
      this.finished = true
      this.notify()
    }
    debug('writer done: %o', this.state)
    return {...this.state, acknowledgedIds: [...this.ids], errors: [...this.errors]}
  }

  /**
   * The clients go on past the visits asked for, until stop(): for a fault that must land while writes are in
   * flight however long it takes (a kill the engine confirms only after the asked visits were all answered).
   * Clients that already stopped by themselves (the count reached) stay stopped.
   */
  keepGoing(): void {
    this.cap = Number.POSITIVE_INFINITY
  }

  /** No new attempts start; those in flight finish. */
  stop(): void {
    this.stopped = true
  }

  /**
   * Resolves true as soon as the predicate holds for the writer's state, or false when the writer finished
   * without it ever holding.
   */
  until(predicate: (state: WriterState) => boolean): Promise<boolean> {
    return new Promise((resolve) => {
      const check = () => {
        if (predicate(this.state)) {
          this.listeners.delete(check)
          resolve(true)
        } else if (this.finished) {
          this.listeners.delete(check)
          resolve(false)
        }
      }
      this.listeners.add(check)
      check()
    })
  }

  private async client(agent: Agent): Promise<void> {
    while (!this.stopped && this.attempted < this.cap) {
      this.attempted++
      this.inFlight++
      this.notify()
      const outcome = await this.attempt(agent)
      this.inFlight--
      this.options.onOutcome?.(typeof outcome === 'number')
      if (typeof outcome === 'number') this.ids.push(outcome)
      else {
        this.failed++
        if (this.errors.length < MAX_ERRORS && !this.errors.includes(outcome)) this.errors.push(outcome)
      }
      this.notify()
    }
  }

  /** The acknowledged visit's id, or why the attempt failed. */
  private attempt(agent: Agent): Promise<number | string> {
    const timeoutMs = this.options.requestTimeoutMs ?? 30_000
    const signal = AbortSignal.timeout(timeoutMs)
    return new Promise((resolve) => {
      const failed = (error: NodeJS.ErrnoException) =>
        resolve(signal.aborted ? `no answer within ${timeoutMs} ms` : (error.code ?? error.name))
      const request = get(
        `${this.options.url}/`,
        {agent, signal, headers: {accept: 'application/json'}},
        (response) => {
          const chunks: Buffer[] = []
          response.on('data', (chunk: Buffer) => chunks.push(chunk))
          response.on('error', failed)
          response.on('end', () => {
            const foreign = foreignStack(response.headers[STACK_HEADER], this.options.stack)
            if (foreign) return resolve(foreign)
            if (response.statusCode !== 200) return resolve(`HTTP ${response.statusCode}`)
            resolve(visitId(Buffer.concat(chunks).toString('utf8')) ?? 'HTTP 200 without a visit id')
          })
        },
      )
      request.on('error', failed)
    })
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener()
  }
}

/** `{"visit": {"id": 42, ...}}` → 42; anything else → undefined. */
export function visitId(body: string): number | undefined {
  try {
    const raw = (JSON.parse(body) as {visit?: {id?: unknown}}).visit?.id
    // bigint ids may come as strings from APIs that do not narrow them
    const id = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw
    return typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? id : undefined
  } catch {
    return undefined
  }
}
