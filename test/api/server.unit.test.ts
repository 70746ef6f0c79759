/**
 * Routing and error mapping of the HTTP layer on a real node:http server with a stub store (no database).
 */
import {expect} from 'chai'
import type http from 'node:http'
import type {AddressInfo} from 'node:net'

import {DatabaseUnavailableError, type VisitPage, type VisitStore} from '../../src/api/db.js'
import type {Logger, LogFields} from '../../src/api/log.js'
import type {VisitsQuery} from '../../src/api/query.js'
import {STACK_HEADER} from '../../src/api/healthz-protocol.js'
import {closeServer, createServer, replyHeaders, visitReplyWriter} from '../../src/api/server.js'

class StubStore implements VisitStore {
  failure: Error | undefined
  delayMs = 0
  queries: VisitsQuery[] = []
  private id = 0

  async recordVisit() {
    await this.maybeFail()
    this.id++
    return {visit: {id: this.id, visitedAt: new Date('2024-05-01T12:00:00.000Z')}, total: this.id}
  }

  async listVisits(query: VisitsQuery): Promise<VisitPage> {
    await this.maybeFail()
    this.queries.push(query)
    return {visits: [{id: 7, visitedAt: new Date('2024-05-01T12:00:00.000Z')}], nextBefore: 7}
  }

  async ping() {
    await this.maybeFail()
  }

  private async maybeFail() {
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs))
    if (this.failure) throw this.failure
  }
}

describe('api HTTP layer', () => {
  let server: http.Server
  let base: string
  let store: StubStore
  const logged: Array<{msg: string; fields?: LogFields}> = []
  const logger: Logger = {info: () => {}, error: (msg, fields) => logged.push({msg, fields})}

  beforeEach(async () => {
    store = new StubStore()
    logged.length = 0
    server = createServer({store, logger, message: 'hello', host: 'node-a'})
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })

  afterEach(async () => {
    if (server.listening) await closeServer(server)
  })

  async function get(path: string, init?: RequestInit) {
    const response = await fetch(base + path, init)
    const text = await response.text()
    expect(response.headers.get('content-type')).to.equal('application/json; charset=utf-8')
    return {status: response.status, headers: response.headers, text, body: JSON.parse(text) as Record<string, unknown>}
  }

  it('records a visit on GET /', async () => {
    const {status, body} = await get('/')
    expect(status).to.equal(200)
    expect(body).to.deep.equal({
      message: 'hello',
      visits: 1,
      visit: {id: 1, visitedAt: '2024-05-01T12:00:00.000Z'},
      host: 'node-a',
    })
  })

  it('lists visits with the parsed query and refuses a bad one with 400', async () => {
    const ok = await get('/visits?limit=10&before=99')
    expect(ok.status).to.equal(200)
    expect(ok.body).to.deep.equal({visits: [{id: 7, visitedAt: '2024-05-01T12:00:00.000Z'}], nextBefore: 7})
    expect(store.queries).to.deep.equal([{limit: 10, before: 99}])
    const bad = await get('/visits?limit=0')
    expect(bad.status).to.equal(400)
    expect(bad.body.error).to.match(/limit must be an integer from 1 to 1000/)
  })

  it('answers 404 for unknown paths, including look-alikes of known ones', async () => {
    for (const path of ['/nope', '/visits/', '//visits', '/healthz/x', '/constructor', '/__proto__']) {
      const {status, body} = await get(path)
      expect(status, path).to.equal(404)
      expect(body).to.deep.equal({error: 'not found'})
    }
  })

  it('answers 405 with an Allow header for other methods on known paths', async () => {
    for (const [method, path] of [
      ['POST', '/'],
      ['DELETE', '/visits'],
      ['PUT', '/healthz'],
    ]) {
      const {status, headers, body} = await get(path, {method, body: method === 'DELETE' ? undefined : 'x'})
      expect(status, `${method} ${path}`).to.equal(405)
      expect(headers.get('allow')).to.equal('GET')
      expect(body).to.deep.equal({error: 'method not allowed'})
    }
    expect(store.queries).to.be.empty
  })

  it('maps an unavailable database to 503, and /healthz to 503 unavailable', async () => {
    store.failure = new DatabaseUnavailableError('database unavailable')
    const visit = await get('/')
    expect(visit.status).to.equal(503)
    expect(visit.body).to.deep.equal({error: 'database unavailable'})
    const health = await get('/healthz')
    expect(health.status).to.equal(503)
    expect(health.body).to.deep.equal({
      status: 'unavailable',
      database: 'not answering',
      reason: 'database unavailable',
    })
    store.failure = new DatabaseUnavailableError('database unavailable', {
      cause: Object.assign(new Error('connect ECONNREFUSED 172.18.0.2:5432'), {code: 'ECONNREFUSED'}),
    })
    expect((await get('/healthz')).body.reason).to.equal('connection refused')
    store.failure = undefined
    expect((await get('/healthz')).body).to.deep.equal({status: 'ok'})
  })

  it('answers 500 without any detail for an unexpected error, and logs the details', async () => {
    store.failure = new TypeError('secret detail at /src/api/db.ts:42')
    for (const path of ['/', '/visits', '/healthz']) {
      const {status, text} = await get(path)
      expect(status, path).to.equal(500)
      expect(text).to.equal('{"error":"internal error"}')
    }
    expect(logged).to.have.length(3)
    expect(logged[0].msg).to.equal('request failed')
    expect(logged[0].fields?.stack).to.include('secret detail')
  })

  it('lets an in-flight request finish on close, with Connection: close, and refuses new connections', async () => {
    store.delayMs = 300
    const inFlight = fetch(`${base}/`)
    await new Promise((resolve) => setTimeout(resolve, 50))
    const closed = closeServer(server)
    const response = await inFlight
    expect(response.status).to.equal(200)
    expect(response.headers.get('connection')).to.equal('close')
    await closed
    const refused = await fetch(`${base}/healthz`).catch((error: unknown) => error)
    expect(refused).to.be.instanceOf(Error)
  })
})

describe('api reply of GET /, serialised by hand', () => {
  const visit = (id: number, visitedAt: Date, total: number) => ({visit: {id, visitedAt}, total})
  const stringified = (message: string, host: string, v: ReturnType<typeof visit>) =>
    JSON.stringify({
      message,
      visits: v.total,
      visit: {id: v.visit.id, visitedAt: v.visit.visitedAt.toISOString()},
      host,
    })

  it('is exactly what JSON.stringify gives, for any message and host', () => {
    const at = new Date('2024-05-01T12:00:00.123Z')
    for (const [message, host] of [
      ['Hello from the stackctl visit tracker!', 'node-a'],
      ['quotes " and \\ and \n new lines, \u0001 control, é ü 漢字 😀', 'h"o\\st'],
      ['', ''],
    ]) {
      const reply = visitReplyWriter(message, host)
      const v = visit(9_007_199_254_740_991, at, 42)
      expect(reply(v)).to.equal(stringified(message, host, v))
    }
  })

  it('reads each batch’s time afresh: a reply never carries the previous batch’s time', () => {
    const reply = visitReplyWriter('m', 'h')
    const first = new Date('2024-05-01T12:00:00.000Z')
    const second = new Date('2024-05-01T12:00:00.001Z')
    expect(JSON.parse(reply(visit(1, first, 1))).visit.visitedAt).to.equal('2024-05-01T12:00:00.000Z')
    expect(JSON.parse(reply(visit(2, first, 2))).visit.visitedAt).to.equal('2024-05-01T12:00:00.000Z')
    expect(JSON.parse(reply(visit(3, second, 3))).visit).to.deep.equal({id: 3, visitedAt: '2024-05-01T12:00:00.001Z'})
  })

  it('sends the headers every reply carries, and the extras only when asked', () => {
    const plain = replyHeaders({status: 200, body: {}}, 12, false)
    expect(plain).to.deep.equal({
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': 12,
      'Cache-Control': 'no-store',
    })
    const all = replyHeaders({status: 405, body: {}, headers: {Allow: 'GET'}}, 3, true, 'st-1')
    expect(all).to.deep.equal({
      [STACK_HEADER]: 'st-1',
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': 3,
      'Cache-Control': 'no-store',
      Connection: 'close',
      Allow: 'GET',
    })
  })
})
