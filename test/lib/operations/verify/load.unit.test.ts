/** The writer against a fake API on loopback: no Docker needed. */
import {expect} from 'chai'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

import {VisitWriter, visitId} from '../../../../src/lib/operations/verify/load.js'

interface FakeApi {
  url: string
  requests: number
  maxConcurrent: number
  close: () => Promise<void>
}

async function fakeApi(answer: (n: number, res: ServerResponse) => void | Promise<void>): Promise<FakeApi> {
  let active = 0
  const api: FakeApi = {url: '', requests: 0, maxConcurrent: 0, close: async () => {}}
  const server: Server = createServer(async (_req: IncomingMessage, res: ServerResponse) => {
    const n = ++api.requests
    active++
    api.maxConcurrent = Math.max(api.maxConcurrent, active)
    await new Promise((resolve) => setTimeout(resolve, 2))
    await answer(n, res)
    active--
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  api.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  api.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return api
}

function visit(res: ServerResponse, id: number) {
  res.writeHead(200, {'content-type': 'application/json'})
  res.end(JSON.stringify({message: 'hi', visits: id, visit: {id, visitedAt: new Date().toISOString()}}))
}

describe('VisitWriter', () => {
  let api: FakeApi | undefined
  afterEach(async () => api?.close())

  it('makes exactly N attempts with at most C in flight and keeps every acknowledged id', async () => {
    api = await fakeApi((n, res) => visit(res, 1000 + n))
    const result = await new VisitWriter({url: api.url, visits: 50, concurrency: 8}).run()
    expect(result.attempted).to.equal(50)
    expect(result.acknowledged).to.equal(50)
    expect(result.failed).to.equal(0)
    expect(result.inFlight).to.equal(0)
    expect([...result.acknowledgedIds].sort((a, b) => a - b)).to.deep.equal(
      Array.from({length: 50}, (_, i) => 1001 + i),
    )
    expect(api.requests).to.equal(50)
    expect(api.maxConcurrent).to.be.at.most(8).and.at.least(2)
  })

  it('never runs more clients than visits', async () => {
    api = await fakeApi((n, res) => visit(res, n))
    const result = await new VisitWriter({url: api.url, visits: 3, concurrency: 64}).run()
    expect(result.attempted).to.equal(3)
    expect(api.maxConcurrent).to.be.at.most(3)
  })

  it('counts non-200 answers and 200s without a visit id as failures, with their reasons', async () => {
    api = await fakeApi((n, res) => {
      if (n % 5 === 0) {
        res.writeHead(503).end('{"error":"database unavailable"}')
      } else if (n % 7 === 0) {
        res.writeHead(200).end('{"visits": 3}')
      } else visit(res, n)
    })
    const result = await new VisitWriter({url: api.url, visits: 35, concurrency: 1}).run()
    expect(result.attempted).to.equal(35)
    expect(result.failed).to.equal(7 + 4)
    expect(result.acknowledged).to.equal(35 - 11)
    expect(result.errors).to.have.members(['HTTP 503', 'HTTP 200 without a visit id'])
    expect(result.acknowledgedIds).to.not.include(5).and.not.include(7)
  })

  it('counts refused connections as failed attempts', async () => {
    api = await fakeApi((n, res) => visit(res, n))
    const {url} = api
    await api.close()
    api = undefined
    const result = await new VisitWriter({url, visits: 4, concurrency: 2}).run()
    expect(result).to.include({attempted: 4, acknowledged: 0, failed: 4})
    expect(result.errors).to.deep.equal(['ECONNREFUSED'])
  })

  it('gives up on an attempt after the request timeout', async () => {
    api = await fakeApi(async (n, res) => {
      if (n === 1) await new Promise((resolve) => setTimeout(resolve, 500))
      visit(res, n)
    })
    const result = await new VisitWriter({url: api.url, visits: 2, concurrency: 1, requestTimeoutMs: 100}).run()
    expect(result).to.include({attempted: 2, acknowledged: 1, failed: 1})
    expect(result.errors[0]).to.match(/^no answer within 100 ms$/)
  })

  it('until() resolves while writes are in flight; stop() lets them finish but starts no more', async () => {
    api = await fakeApi((n, res) => visit(res, n))
    const writer = new VisitWriter({url: api.url, visits: 10_000, concurrency: 4})
    const done = writer.run()
    const reached = await writer.until((s) => s.acknowledged >= 20 && s.inFlight > 0)
    const atStop = writer.state
    writer.stop()
    const result = await done
    expect(reached).to.equal(true)
    expect(atStop.inFlight).to.be.greaterThan(0)
    expect(result.attempted).to.be.below(10_000)
    expect(result.attempted).to.equal(atStop.attempted)
    expect(result.acknowledged + result.failed).to.equal(result.attempted)
  })

  it('until() resolves false when the writer finishes without the condition', async () => {
    api = await fakeApi((n, res) => visit(res, n))
    const writer = new VisitWriter({url: api.url, visits: 5, concurrency: 2})
    const done = writer.run()
    expect(await writer.until((s) => s.acknowledged > 5)).to.equal(false)
    await done
  })

  it('visitId reads the id of the documented reply and nothing else', () => {
    expect(visitId('{"message":"x","visits":3,"visit":{"id":42,"visitedAt":"2025-01-01T00:00:00.000Z"}}')).to.equal(42)
    expect(visitId('{"visit":{"id":"43"}}')).to.equal(43)
    for (const body of ['', 'nope', '{"visit":{}}', '{"visit":{"id":-1}}', '{"visit":{"id":1.5}}', 'null']) {
      expect(visitId(body), body).to.equal(undefined)
    }
  })
})
