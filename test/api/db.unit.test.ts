/**
 * Which errors mean "database unavailable" (503, retried at start-up) and which are bugs (500, thrown at
 * once), and what the store does with each, on a stub pool.
 */
import {expect} from 'chai'
import {EventEmitter} from 'node:events'

import pg from 'pg'

import {
  batchVisits,
  DatabaseUnavailableError,
  PgVisitStore,
  type QueryPool,
  isUnavailable,
  unavailableReason,
} from '../../src/api/db.js'
import type {LogFields, Logger} from '../../src/api/log.js'

const db = {host: '127.0.0.1', port: 1, user: 'postgres', database: 'visits', password: 'pw'}

function sqlError(code: string, message = `error ${code}`): pg.DatabaseError {
  const error = new pg.DatabaseError(message, 0, 'error')
  error.code = code
  return error
}

const withCode = (code: string, message = `connect ${code} 172.18.0.2:5432`) =>
  Object.assign(new Error(message), {code})

/** A pool whose every query settles with what `answer` returns. */
class StubPool extends EventEmitter {
  calls = 0
  connects = 0
  released: unknown[] = []
  constructor(
    private readonly answer: () => Promise<unknown>,
    private readonly connectAnswer: () => Promise<void> = () => Promise.resolve(),
  ) {
    super()
  }
  query() {
    this.calls++
    return this.answer()
  }
  /** What the checked-out client emits as 'error' once its statement has answered (or undefined). */
  errorAfterQuery: Error | undefined
  /** 'error' events emitted with nobody listening: each would have ended the API process. */
  unheard: Error[] = []
  async connect() {
    this.connects++
    await this.connectAnswer()
    const client = new EventEmitter()
    const emitError = (error: Error) => {
      if (client.listenerCount('error') === 0) this.unheard.push(error)
      else client.emit('error', error)
    }
    return Object.assign(client, {
      query: () => {
        const answer = this.query()
        // Registered before the caller's await, so it runs first: the server's message in the same chunk.
        void answer.then(
          () => this.errorAfterQuery && emitError(this.errorAfterQuery),
          () => undefined,
        )
        return answer
      },
      release: (error?: unknown) => this.released.push(error),
    })
  }
  end() {
    return Promise.resolve()
  }
}

function store(answer: () => Promise<unknown>, connectAnswer?: () => Promise<void>) {
  const logged: Array<{msg: string; fields?: LogFields}> = []
  const logger: Logger = {
    info: (msg, fields) => logged.push({msg, fields}),
    error: (msg, fields) => logged.push({msg, fields}),
  }
  const pool = new StubPool(answer, connectAnswer)
  return {store: new PgVisitStore(db, logger, pool as unknown as QueryPool), logged, pool}
}

describe('api database errors', () => {
  it('counts unreachable, broken and timed-out connections and server-side unavailability as unavailable', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']) {
      expect(isUnavailable(withCode(code)), code).to.equal(true)
    }
    for (const message of [
      'Connection terminated unexpectedly',
      'Connection terminated due to connection timeout',
      'Connection terminated',
      'timeout expired',
      'timeout exceeded when trying to connect',
      'Query read timeout',
      'Client has encountered a connection error and is not queryable',
    ]) {
      expect(isUnavailable(new Error(message)), message).to.equal(true)
    }
    for (const code of ['08006', '28P01', '3D000', '53300', '57P01', '57P03', '57014']) {
      expect(isUnavailable(sqlError(code)), code).to.equal(true)
    }
    expect(isUnavailable(new DatabaseUnavailableError('database ping timed out after 2000 ms'))).to.equal(true)
    expect(isUnavailable(new AggregateError([withCode('ECONNREFUSED'), withCode('ETIMEDOUT')], 'connect'))).to.equal(
      true,
    )
  })

  it('counts a database that does not accept connections (a restore swapping it in) as unavailable', () => {
    expect(isUnavailable(sqlError('55000', 'database "visits" is not currently accepting connections'))).to.equal(true)
  })

  it('counts programming errors and other SQL errors as bugs, not as an outage', () => {
    expect(isUnavailable(new TypeError("Cannot read properties of undefined (reading 'id')"))).to.equal(false)
    expect(isUnavailable(new Error('recording a visit returned 0 rows'))).to.equal(false)
    expect(isUnavailable(new RangeError('Invalid time value'))).to.equal(false)
    expect(isUnavailable(withCode('ERR_INVALID_ARG_TYPE', 'The "path" argument must be of type string'))).to.equal(
      false,
    )
    expect(isUnavailable(sqlError('42P01', 'relation "visits" does not exist'))).to.equal(false)
    expect(isUnavailable(sqlError('23505'))).to.equal(false)
    expect(isUnavailable(new AggregateError([withCode('ECONNREFUSED'), new TypeError('x')], 'mixed'))).to.equal(false)
    expect(isUnavailable('a string')).to.equal(false)
    expect(isUnavailable(undefined)).to.equal(false)
  })

  it('says in a few words why the database is unavailable', () => {
    const wrapped = (cause: unknown) => new DatabaseUnavailableError('database unavailable', {cause})
    expect(unavailableReason(wrapped(withCode('ECONNREFUSED')))).to.equal('connection refused')
    expect(unavailableReason(wrapped(withCode('EAI_AGAIN')))).to.equal('host name not found')
    expect(unavailableReason(wrapped(sqlError('28P01')))).to.equal('authentication failed (28P01)')
    expect(
      unavailableReason(wrapped(sqlError('57P01', 'terminating connection due to administrator command'))),
    ).to.equal('terminating connection due to administrator command (57P01)')
    expect(unavailableReason(wrapped(new Error('Connection terminated unexpectedly')))).to.equal(
      'Connection terminated unexpectedly',
    )
    expect(unavailableReason(new DatabaseUnavailableError('database ping timed out after 2000 ms'))).to.equal(
      'database ping timed out after 2000 ms',
    )
    expect(unavailableReason(wrapped(new AggregateError([withCode('ECONNREFUSED')], 'connect')))).to.equal(
      'connection refused',
    )
  })

  it('turns a connection failure into DatabaseUnavailableError and logs the outage once', async () => {
    const {store: s, logged} = store(() => Promise.reject(withCode('ECONNREFUSED')))
    for (let i = 0; i < 3; i++) {
      const error = await s.recordVisit().catch((caught: unknown) => caught)
      expect(error).to.be.instanceOf(DatabaseUnavailableError)
    }
    expect(logged.map((entry) => entry.msg)).to.deep.equal(['database unavailable'])
  })

  it('lets a programming error through as itself, without an outage log line', async () => {
    const {store: s, logged} = store(() => Promise.resolve({rows: []}))
    const error = await s.recordVisit().catch((caught: unknown) => caught)
    expect(error).to.be.instanceOf(Error).and.not.instanceOf(DatabaseUnavailableError)
    expect((error as Error).message).to.equal('recording visits returned 0 rows')
    const bug = store(() => Promise.reject(new TypeError('bad argument')))
    expect(await bug.store.listVisits({limit: 5}).catch((caught: unknown) => caught)).to.be.instanceOf(TypeError)
    expect([...logged, ...bug.logged]).to.deep.equal([])
  })

  it('waits out an unavailable database at start-up, but fails at once on a bug', async () => {
    let attempts = 0
    const flaky = store(() => (++attempts < 3 ? Promise.reject(sqlError('57P03')) : Promise.resolve({rows: []})))
    await flaky.store.prepare({backoff: {initialMs: 1, maxMs: 2}})
    expect(flaky.pool.calls).to.equal(3)
    expect(flaky.logged.map((entry) => entry.msg)).to.deep.equal([
      'database not ready, retrying',
      'database not ready, retrying',
    ])

    const broken = store(() => Promise.reject(sqlError('42601', 'syntax error at or near "CREAT"')))
    const error = await broken.store.prepare({backoff: {initialMs: 1, maxMs: 2}}).catch((caught: unknown) => caught)
    expect(error).to.be.instanceOf(pg.DatabaseError)
    expect(broken.pool.calls).to.equal(1)
  })

  it('gives each visit of a batch its own id and total, ending at the counter', async () => {
    const visitedAt = new Date('2026-11-25T08:00:00Z')
    expect(batchVisits({ids: '7,9,12', visited_at: visitedAt, total: '40'}, 3)).to.deep.equal([
      {visit: {id: 7, visitedAt}, total: 38},
      {visit: {id: 9, visitedAt}, total: 39},
      {visit: {id: 12, visitedAt}, total: 40},
    ])
    expect(() => batchVisits({ids: '7,9', visited_at: visitedAt, total: '40'}, 3)).to.throw(/batch of 3 visits/)
  })

  it('writes visits that arrive together as one statement', async () => {
    const visitedAt = new Date()
    const {store: s, pool} = store(() => Promise.resolve({rows: [{ids: '1,2,3,4', visited_at: visitedAt, total: '4'}]}))
    const visits = await Promise.all([1, 2, 3, 4].map(() => s.recordVisit()))
    expect(pool.calls).to.equal(1)
    expect(visits.map((v) => [v.visit.id, v.total])).to.deep.equal([
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
    ])
    expect(pool.released).to.deep.equal([undefined])
  })

  it('answers a batch with 503 at once when the server refuses the connection, sending nothing', async () => {
    const refused = store(
      () => Promise.resolve({rows: []}),
      () => Promise.reject(withCode('ECONNREFUSED')),
    )
    const outcomes = await Promise.all([1, 2].map(() => refused.store.recordVisit().catch((caught: unknown) => caught)))
    for (const outcome of outcomes) expect(outcome).to.be.instanceOf(DatabaseUnavailableError)
    expect(refused.pool.connects).to.equal(1)
    expect(refused.pool.calls).to.equal(0)
  })

  it('hears a connection the server ends right after a batch answered, keeps the visits and drops the connection', async () => {
    const visitedAt = new Date()
    const {
      store: s,
      pool,
      logged,
    } = store(() => Promise.resolve({rows: [{ids: '5', visited_at: visitedAt, total: '5'}]}))
    const terminated = sqlError('57P01', 'terminating connection due to administrator command')
    pool.errorAfterQuery = terminated
    const visit = await s.recordVisit()
    expect(visit.total).to.equal(5)
    expect(pool.unheard).to.deep.equal([])
    expect(pool.released).to.deep.equal([terminated])
    expect(logged[0]).to.include({msg: 'database unavailable'})
  })

  it('does not hand out again a connection that broke during a batch', async () => {
    const broken = withCode('ECONNRESET')
    const {store: s, pool} = store(() => Promise.reject(broken))
    expect(await s.recordVisit().catch((caught: unknown) => caught)).to.be.instanceOf(DatabaseUnavailableError)
    expect(pool.released).to.deep.equal([broken])
  })
})
