/**
 * The API in-process against a real PostgreSQL container, hammered by many concurrent clients: every request
 * answered 200, every visit recorded once with its own id, the final total equal to count(*) and to the
 * number of requests, and no reply reporting less than a reply that had already arrived before its request
 * was sent (the totals are exact and monotonic across batches). A property of the replies, not a timing.
 */
import {expect} from 'chai'
import pg from 'pg'

import {startApi, type RunningApi} from '../../src/api/app.js'
import type {Logger} from '../../src/api/log.js'
import {Cleanup} from '../helpers/docker.js'
import {startPostgres} from './postgres-container.js'

const CLIENTS = 64
const REQUESTS_PER_CLIENT = 50

interface Observed {
  status: number
  id: number
  total: number
  /** performance.now() just before the request was sent and just after its reply was read. */
  sentAt: number
  receivedAt: number
}

/** Replies that report less than one whose reply had arrived before they were sent (pairs, at most 5). */
function monotonicViolations(replies: readonly Observed[]): string[] {
  const violations: string[] = []
  for (const later of replies) {
    for (const earlier of replies) {
      if (earlier.receivedAt < later.sentAt && earlier.total > later.total) {
        violations.push(
          `visit ${later.id} reported ${later.total} after visit ${earlier.id} had reported ${earlier.total}`,
        )
        if (violations.length >= 5) return violations
      }
    }
  }
  return violations
}

describe('visit-tracker API under concurrent clients (integration)', function () {
  this.timeout(300_000)
  const cleanup = new Cleanup()
  const logger: Logger = {info: () => {}, error: () => {}}
  let api: RunningApi
  let pool: pg.Pool

  before(async () => {
    const postgres = await startPostgres(cleanup)
    api = await startApi({host: '127.0.0.1', port: 0, message: 'concurrency', stack: null, db: postgres.db}, {logger})
    pool = new pg.Pool({...postgres.db, max: 2})
    pool.on('error', () => {})
  })

  after(async () => {
    await api?.stop().catch(() => {})
    await pool?.end().catch(() => {})
    await cleanup.run()
  })

  async function visit(): Promise<Observed> {
    const sentAt = performance.now()
    const response = await fetch(`${api.url}/`, {signal: AbortSignal.timeout(30_000)})
    const body = (await response.json()) as {visits: number; visit: {id: number}}
    return {status: response.status, id: body.visit?.id, total: body.visits, sentAt, receivedAt: performance.now()}
  }

  it(`stays exact and monotonic with ${CLIENTS} clients x ${REQUESTS_PER_CLIENT} requests`, async () => {
    const replies = (
      await Promise.all(
        Array.from({length: CLIENTS}, async () => {
          const seen: Observed[] = []
          for (let i = 0; i < REQUESTS_PER_CLIENT; i++) seen.push(await visit())
          return seen
        }),
      )
    ).flat()
    const requests = CLIENTS * REQUESTS_PER_CLIENT

    expect(replies.filter((r) => r.status !== 200)).to.deep.equal([])
    expect(new Set(replies.map((r) => r.id)).size).to.equal(requests)
    expect(new Set(replies.map((r) => r.total)).size).to.equal(requests)
    expect(Math.max(...replies.map((r) => r.total))).to.equal(requests)
    expect(monotonicViolations(replies)).to.deep.equal([])
    const {rows} = await pool.query<{rows: number; counted: number}>(
      'SELECT (SELECT count(*) FROM visits)::int AS rows, (SELECT sum(n) FROM visit_counter)::int AS counted',
    )
    expect(rows[0]).to.deep.equal({rows: requests, counted: requests})
  })

  it('the monotonic check finds a reply that reports less than one that arrived before it was sent', () => {
    const replies: Observed[] = [
      {status: 200, id: 1, total: 2, sentAt: 0, receivedAt: 1},
      {status: 200, id: 2, total: 1, sentAt: 2, receivedAt: 3},
      {status: 200, id: 3, total: 3, sentAt: 0.5, receivedAt: 4},
    ]
    expect(monotonicViolations(replies)).to.deep.equal(['visit 2 reported 1 after visit 1 had reported 2'])
  })
})
