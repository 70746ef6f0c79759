/**
 * The API in-process against a real PostgreSQL container: visit counting (sequential and concurrent),
 * pagination, error responses, and riding out a database stop/start without a restart.
 */
import {expect} from 'chai'
import pg from 'pg'

import {startApi, type RunningApi} from '../../src/api/app.js'
import {RECORD_VISIT_SQL} from '../../src/api/db.js'
import type {Logger} from '../../src/api/log.js'
import {Cleanup, docker} from '../helpers/docker.js'
import {startPostgres, type TestPostgres} from './postgres-container.js'

interface VisitBody {
  message: string
  visits: number
  visit: {id: number; visitedAt: string}
}

interface Reply {
  status: number
  headers: Headers
  text: string
  body: Record<string, unknown>
}

/** count(*) and the counter's total, read in one snapshot. */
const EXACTNESS_SQL = `SELECT (SELECT count(*) FROM visits)::int AS rows,
  (SELECT sum(n) FROM visit_counter)::int AS counted`

/** The tempting variant: sums the counter in the same WITH, whose snapshot does not see the increment. */
const SNAPSHOT_SUM_SQL = RECORD_VISIT_SQL.replace(
  /\(\(SELECT n FROM bumped\) \+ \(SELECT .*\)\)::bigint AS total/,
  '(SELECT sum(n) FROM visit_counter)::bigint AS total',
)

describe('visit-tracker API against PostgreSQL (integration)', function () {
  this.timeout(300_000)
  const cleanup = new Cleanup()
  const logs: string[] = []
  const logger: Logger = {
    info: (msg) => logs.push(msg),
    error: (msg) => logs.push(msg),
  }
  const bodies: string[] = []
  let postgres: TestPostgres
  let api: RunningApi
  let pool: pg.Pool

  async function request(path: string, init?: RequestInit): Promise<Reply> {
    const response = await fetch(api.url + path, {...init, signal: AbortSignal.timeout(20_000)})
    const text = await response.text()
    bodies.push(text)
    return {status: response.status, headers: response.headers, text, body: JSON.parse(text) as Record<string, unknown>}
  }

  async function visit(): Promise<VisitBody> {
    const reply = await request('/')
    expect(reply.status, reply.text).to.equal(200)
    return reply.body as unknown as VisitBody
  }

  async function exactness(client: pg.Pool | pg.PoolClient = pool): Promise<{rows: number; counted: number}> {
    return (await client.query<{rows: number; counted: number}>(EXACTNESS_SQL)).rows[0]
  }

  before(async () => {
    postgres = await startPostgres(cleanup)
    api = await startApi(
      {host: '127.0.0.1', port: 0, message: 'integration', stack: 'api-test-stack', db: postgres.db},
      {logger},
    )
    pool = new pg.Pool({...postgres.db, max: 4})
    pool.on('error', () => {})
  })

  after(async () => {
    await api?.stop().catch(() => {})
    await pool?.end().catch(() => {})
    await cleanup.run()
  })

  it('counts visits 1, 2, 3 with increasing ids and ISO-8601 timestamps', async () => {
    const visits = [await visit(), await visit(), await visit()]
    expect(visits.map((v) => v.visits)).to.deep.equal([1, 2, 3])
    expect(visits.map((v) => v.message)).to.deep.equal(['integration', 'integration', 'integration'])
    const ids = visits.map((v) => v.visit.id)
    expect(
      ids.every((id, i) => Number.isInteger(id) && (i === 0 || id > ids[i - 1])),
      String(ids),
    ).to.equal(true)
    for (const {visit} of visits) expect(new Date(visit.visitedAt).toISOString()).to.equal(visit.visitedAt)
    expect(await exactness()).to.deep.equal({rows: 3, counted: 3})
  })

  it('stays exact under 20 concurrent clients x 100 requests', async () => {
    const start = (await visit()).visits
    const started = Date.now()
    const results = await Promise.all(
      Array.from({length: 20}, async () => {
        const seen: VisitBody[] = []
        for (let i = 0; i < 100; i++) seen.push(await visit())
        return seen
      }),
    )
    const elapsed = Date.now() - started
    console.log(`      20 x 100 visits in ${elapsed} ms (${Math.round(2_000_000 / elapsed)} req/s)`)
    const all = results.flat()
    expect(new Set(all.map((v) => v.visit.id)).size).to.equal(2000)
    for (const {visits} of all) expect(visits).to.be.within(start + 1, start + 2000)
    // Each client's own visits follow one another, so the totals it sees must grow.
    for (const seen of results) {
      expect(seen.every((v, i) => i === 0 || v.visits > seen[i - 1].visits)).to.equal(true)
    }
    expect((await visit()).visits).to.equal(start + 2001)
    expect(await exactness()).to.deep.equal({rows: start + 2001, counted: start + 2001})
  })

  it('pages through /visits newest first with limit and before', async () => {
    const latest = (await visit()).visit.id
    const expected = (await pool.query<{id: string}>('SELECT id FROM visits ORDER BY id DESC LIMIT 6')).rows.map((r) =>
      Number(r.id),
    )
    expect(expected[0]).to.equal(latest)
    const first = await request('/visits?limit=3')
    expect(first.status).to.equal(200)
    const firstIds = (first.body.visits as Array<{id: number; visitedAt: string}>).map((v) => v.id)
    expect(firstIds).to.deep.equal(expected.slice(0, 3))
    expect(first.body.nextBefore).to.equal(expected[2])
    const second = await request(`/visits?limit=3&before=${String(first.body.nextBefore)}`)
    expect((second.body.visits as Array<{id: number}>).map((v) => v.id)).to.deep.equal(expected.slice(3, 6))
    const byDefault = await request('/visits')
    expect(byDefault.body.visits).to.have.length(50)
    const everything = await request('/visits?limit=1000')
    const ids = (everything.body.visits as Array<{id: number}>).map((v) => v.id)
    expect(ids).to.have.length(1000)
    expect(ids.every((id, i) => i === 0 || id < ids[i - 1])).to.equal(true)
    const oldest = (await pool.query<{id: string}>('SELECT min(id) AS id FROM visits')).rows[0].id
    const last = await request(`/visits?before=${oldest}`)
    expect(last.body).to.deep.equal({visits: [], nextBefore: null})
  })

  it('answers 400 with a JSON error for bad /visits parameters', async () => {
    for (const query of ['limit=0', 'limit=1001', 'limit=abc', 'before=-1', 'before=0']) {
      const reply = await request(`/visits?${query}`)
      expect(reply.status, query).to.equal(400)
      expect(reply.body.error, query)
        .to.be.a('string')
        .and.match(/^(limit|before) must be/)
    }
  })

  it('answers 404 for an unknown path and 405 with Allow for POST /, without recording a visit', async () => {
    const before = await exactness()
    const missing = await request('/favicon.ico')
    expect(missing.status).to.equal(404)
    expect(missing.body).to.deep.equal({error: 'not found'})
    const post = await request('/', {method: 'POST', body: '{}'})
    expect(post.status).to.equal(405)
    expect(post.headers.get('allow')).to.equal('GET')
    expect(await exactness()).to.deep.equal(before)
  })

  it('reports healthy while the database answers', async () => {
    const reply = await request('/healthz')
    expect(reply.status).to.equal(200)
    expect(reply.body).to.deep.equal({status: 'ok'})
  })

  it('names the stack it serves in every answer (200, 404, 405), so stackctl can tell it from another stack’s', async () => {
    for (const [path, method] of [
      ['/healthz', 'GET'],
      ['/', 'GET'],
      ['/nope', 'GET'],
      ['/', 'POST'],
    ]) {
      expect((await request(path, {method})).headers.get('x-stackctl-stack'), `${method} ${path}`).to.equal(
        'api-test-stack',
      )
    }
  })

  it('answers 503 while the database is stopped and recovers by itself when it is back', async () => {
    const before = (await visit()).visits
    await docker.getContainer(postgres.name).stop({t: 30})

    const health = await request('/healthz')
    expect(health.status).to.equal(503)
    expect(health.body.status).to.equal('unavailable')
    const down = await request('/')
    expect(down.status).to.equal(503)
    expect(down.body).to.deep.equal({error: 'database unavailable'})
    expect((await request('/visits')).status).to.equal(503)
    expect(api.server.listening).to.equal(true)

    await postgres.restart()
    const deadline = Date.now() + 30_000
    let reply = await request('/')
    while (reply.status !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250))
      reply = await request('/')
    }
    expect(reply.status, reply.text).to.equal(200)
    expect((reply.body as unknown as VisitBody).visits).to.equal(before + 1)
    expect((await request('/healthz')).status).to.equal(200)
    expect(logs).to.include.members(['database unavailable', 'database available again'])
  })

  it('answers 503 within its timeouts while the database hangs (paused), then recovers', async () => {
    const container = docker.getContainer(postgres.name)
    await container.pause()
    try {
      let started = Date.now()
      const health = await request('/healthz')
      expect(health.status).to.equal(503)
      expect(Date.now() - started).to.be.below(4000)
      started = Date.now()
      const visit = await request('/')
      expect(visit.status).to.equal(503)
      expect(Date.now() - started).to.be.below(10_000)
    } finally {
      await container.unpause()
    }
    const deadline = Date.now() + 30_000
    while ((await request('/healthz')).status !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    expect((await request('/')).status).to.equal(200)
    // A request that timed out may still have been committed once the server woke up; either way, the
    // counter and the table agree.
    const {rows, counted} = await exactness()
    expect(counted).to.equal(rows)
  })

  it('seeds the counter once from existing visits, with instances starting together', async () => {
    await pool.query('CREATE DATABASE legacy')
    const db = {...postgres.db, database: 'legacy'}
    const legacy = new pg.Pool({...db, max: 2})
    legacy.on('error', () => {})
    const config = {host: '127.0.0.1', port: 0, message: 'legacy', stack: null, db}
    const apis: RunningApi[] = []
    try {
      await legacy.query(`CREATE TABLE visits (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, visited_at timestamptz NOT NULL DEFAULT now())`)
      await legacy.query('INSERT INTO visits SELECT FROM generate_series(1, 5)')
      apis.push(...(await Promise.all([1, 2, 3, 4].map(() => startApi(config, {logger})))))
      const first = (await fetch(`${apis[0].url}/`).then((r) => r.json())) as VisitBody
      expect(first.visits).to.equal(6)
      await apis.pop()!.stop()
      apis.push(await startApi(config, {logger}))
      const again = (await fetch(`${apis.at(-1)!.url}/`).then((r) => r.json())) as VisitBody
      expect(again.visits).to.equal(7)
      const shards = await legacy.query<{shards: number; total: number}>(
        'SELECT count(*)::int AS shards, sum(n)::int AS total FROM visit_counter',
      )
      expect(shards.rows[0]).to.deep.equal({shards: 1, total: 7})
    } finally {
      await Promise.all(apis.map((a) => a.stop()))
      await legacy.end()
    }
  })

  it('folds the 16 counter shards of an earlier version into one row, keeping the total', async () => {
    await pool.query('CREATE DATABASE sharded')
    const db = {...postgres.db, database: 'sharded'}
    const sharded = new pg.Pool({...db, max: 2})
    sharded.on('error', () => {})
    let older: RunningApi | undefined
    try {
      await sharded.query(`CREATE TABLE visits (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, visited_at timestamptz NOT NULL DEFAULT now())`)
      await sharded.query('CREATE TABLE visit_counter (shard smallint PRIMARY KEY, n bigint NOT NULL CHECK (n >= 0))')
      await sharded.query('INSERT INTO visits SELECT FROM generate_series(1, 30)')
      await sharded.query('INSERT INTO visit_counter SELECT s, s % 5 FROM generate_series(0, 15) AS s')
      older = await startApi({host: '127.0.0.1', port: 0, message: 'sharded', stack: null, db}, {logger})
      const reply = (await fetch(`${older.url}/`).then((r) => r.json())) as VisitBody
      expect(reply.visits).to.equal(31)
      const counter = await sharded.query<{shard: number; n: string}>('SELECT shard, n FROM visit_counter')
      expect(counter.rows).to.deep.equal([{shard: 0, n: '31'}])
    } finally {
      await older?.stop()
      await sharded.end()
    }
  })

  it('never shows a stack trace or internal detail in any response body', () => {
    expect(bodies.length).to.be.above(2000)
    for (const body of bodies) {
      expect(() => JSON.parse(body) as unknown, body).not.to.throw()
      expect(body).not.to.match(/\bat .*:\d+|\.ts\b|node:internal|Error:|ECONNREFUSED/)
    }
  })

  describe('negative controls: the checks above can fail', () => {
    async function inRolledBackTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
      const client = await pool.connect()
      try {
        await client.query('BEGIN')
        return await work(client)
      } finally {
        await client.query('ROLLBACK')
        client.release()
      }
    }

    it('count(*) versus the counter detects a lost update (read-modify-write by two clients)', async () => {
      await inRolledBackTransaction(async (client) => {
        // The interleaving of two naive clients: both read the shard, both insert, both write read + 1.
        const read = async () => Number((await client.query('SELECT n FROM visit_counter WHERE shard = 0')).rows[0].n)
        const [a, b] = [await read(), await read()]
        for (const n of [a, b]) {
          await client.query('INSERT INTO visits DEFAULT VALUES')
          await client.query('UPDATE visit_counter SET n = $1 WHERE shard = 0', [n + 1])
        }
        const {rows, counted} = await exactness(client)
        expect(counted).to.equal(rows - 1)
      })
      const after = await exactness()
      expect(after.counted).to.equal(after.rows)
    })

    it('summing the counter inside the same statement would miss the visit itself; the real SQL does not', async () => {
      const report = (sql: string) =>
        inRolledBackTransaction(async (client) => {
          const reported = Number((await client.query(sql)).rows[0].total)
          return {reported, actual: (await exactness(client)).rows}
        })
      expect(SNAPSHOT_SUM_SQL).not.to.equal(RECORD_VISIT_SQL)
      const naive = await report(SNAPSHOT_SUM_SQL)
      expect(naive.reported).to.equal(naive.actual - 1)
      const real = await report(RECORD_VISIT_SQL)
      expect(real.reported).to.equal(real.actual)
    })

    it('random() in a WHERE clause picks a shard per row; the real SQL bumps exactly one', async () => {
      const rowCounts = await inRolledBackTransaction(async (client) => {
        const counts: number[] = []
        for (let i = 0; i < 50; i++) {
          const sql = 'UPDATE visit_counter SET n = n + 1 WHERE shard = floor(random() * 16)::smallint'
          counts.push((await client.query(sql)).rowCount ?? 0)
        }
        return counts
      })
      expect(
        rowCounts.some((count) => count !== 1),
        String(rowCounts),
      ).to.equal(true)
      await inRolledBackTransaction(async (client) => {
        const before = (await exactness(client)).counted
        for (let i = 0; i < 50; i++) await client.query(RECORD_VISIT_SQL)
        expect((await exactness(client)).counted).to.equal(before + 50)
      })
    })
  })
})
