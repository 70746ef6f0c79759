/**
 * Malformed requests sent over a raw socket to the real node:http server (stub store): each gets a JSON error
 * with the right status, the connection is closed after it, and no visit is recorded.
 */
import {expect} from 'chai'
import http from 'node:http'
import type {AddressInfo} from 'node:net'

import type {VisitStore} from '../../src/api/db.js'
import type {Logger} from '../../src/api/log.js'
import {answerAndClose, parseErrorResponse, rawResponse, type ParseError} from '../../src/api/malformed.js'
import {closeServer, createServer} from '../../src/api/server.js'
import {exchange} from './raw-http.js'

class CountingStore implements VisitStore {
  visits = 0

  async recordVisit() {
    this.visits++
    return {visit: {id: this.visits, visitedAt: new Date('2024-05-01T12:00:00.000Z')}, total: this.visits}
  }

  async listVisits() {
    return {visits: [], nextBefore: null}
  }

  async ping() {}
}

const KB100 = 'a'.repeat(100 * 1024)

describe('api malformed requests', () => {
  let server: http.Server
  let port: number
  let store: CountingStore
  const logger: Logger = {info: () => {}, error: () => {}}

  beforeEach(async () => {
    store = new CountingStore()
    server = createServer({store, logger, message: 'hello', host: 'node-a'})
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
  })

  afterEach(async () => {
    if (server.listening) await closeServer(server)
  })

  const cases: Array<{
    name: string
    request: Array<string | Buffer>
    status: string
    error: RegExp
    keepsAlive?: boolean
  }> = [
    {
      name: 'an unknown method',
      request: ['FOO / HTTP/1.1\r\nHost: x\r\n\r\n'],
      status: '405 Method Not Allowed',
      error: /method not allowed/,
    },
    {
      name: 'BREW',
      request: ['BREW /coffee HTTP/1.1\r\nHost: x\r\n\r\n'],
      status: '405 Method Not Allowed',
      error: /method not allowed/,
    },
    {
      name: 'CONNECT',
      request: ['CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'],
      status: '405 Method Not Allowed',
      error: /method not allowed/,
    },
    {
      name: 'a TLS handshake',
      request: [Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03])],
      status: '400 Bad Request',
      error: /malformed request line/,
    },
    {
      name: 'non-UTF-8 bytes in the path',
      request: [
        Buffer.concat([Buffer.from('GET /'), Buffer.from([0xff, 0xfe]), Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n')]),
      ],
      status: '400 Bad Request',
      error: /malformed URL/,
    },
    {
      name: 'a truncated percent escape',
      request: ['GET /%E0%A4%A HTTP/1.1\r\nHost: x\r\n\r\n'],
      status: '400 Bad Request',
      error: /percent-encoded UTF-8/,
      keepsAlive: true,
    },
    {
      name: 'a percent escape that is not UTF-8',
      request: ['GET /%ff HTTP/1.1\r\nHost: x\r\n\r\n'],
      status: '400 Bad Request',
      error: /percent-encoded UTF-8/,
      keepsAlive: true,
    },
    {
      name: 'a null byte in the path',
      request: ['GET /\0 HTTP/1.1\r\nHost: x\r\n\r\n'],
      status: '400 Bad Request',
      error: /malformed URL/,
    },
    {
      name: 'a null byte in a header',
      request: ['GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n'],
      status: '400 Bad Request',
      error: /malformed request/,
    },
    {
      name: 'HTTP/1.1 without Host',
      request: ['GET / HTTP/1.1\r\n\r\n'],
      status: '400 Bad Request',
      error: /needs a Host header/,
    },
    {
      name: 'a bad chunk size on POST',
      request: ['POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
      status: '400 Bad Request',
      error: /malformed body framing/,
    },
    {
      name: 'a bad chunk size on GET',
      request: ['GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
      status: '400 Bad Request',
      error: /malformed body framing/,
    },
    {
      name: 'a GET with a chunked body still to come',
      request: ['GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n'],
      status: '400 Bad Request',
      error: /GET takes no body/,
    },
    {
      name: 'a 100 KB URL',
      request: [`GET /${KB100} HTTP/1.1\r\nHost: x\r\n\r\n`],
      status: '414 URI Too Long',
      error: /URL too long/,
    },
    {
      name: 'a 100 KB header',
      request: [`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${KB100}\r\n\r\n`],
      status: '431 Request Header Fields Too Large',
      error: /headers too large/,
    },
    {
      name: 'an HTTP/0.9 request line',
      request: ['GET /\r\n\r\n'],
      status: '505 HTTP Version Not Supported',
      error: /use HTTP\/1.1/,
    },
    {
      name: 'HTTP/1.2',
      request: ['GET / HTTP/1.2\r\nHost: x\r\n\r\n'],
      status: '505 HTTP Version Not Supported',
      error: /use HTTP\/1.1/,
    },
    {
      name: 'the HTTP/2 preface',
      request: ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
      status: '505 HTTP Version Not Supported',
      error: /use HTTP\/1.1/,
    },
  ]

  for (const {name, request, status, error, keepsAlive = false} of cases) {
    it(`answers ${name} with ${status} in JSON${keepsAlive ? '' : ', closes'} and records no visit`, async () => {
      const answer = await exchange(port, request, {hangUp: keepsAlive})
      expect(answer.statusLine).to.equal(`HTTP/1.1 ${status}`)
      expect(answer.headers.get('content-type')).to.equal('application/json; charset=utf-8')
      expect(answer.headers.get('connection')).to.equal(keepsAlive ? 'keep-alive' : 'close')
      expect(answer.body.error).to.match(error)
      // One response only, even where a route's answer was still pending when the body turned out bad.
      expect(answer.text.match(/HTTP\/1\.1 \d{3} /g)).to.have.length(1)
      if (status.startsWith('405')) expect(answer.headers.get('allow')).to.equal('GET')
      expect(store.visits).to.equal(0)
      // The same server still records a well-formed visit, so the count above could have moved.
      const ok = await exchange(port, ['GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'])
      expect(ok.statusLine).to.equal('HTTP/1.1 200 OK')
      expect(store.visits).to.equal(1)
    })
  }

  it('answers the earlier pipelined requests first, then the malformed one', async () => {
    const answer = await exchange(port, ['GET / HTTP/1.1\r\nHost: x\r\n\r\nFOO / HTTP/1.1\r\nHost: x\r\n\r\n'])
    expect(answer.text.match(/HTTP\/1\.1 \d{3} [^\r]*/g)).to.deep.equal([
      'HTTP/1.1 200 OK',
      'HTTP/1.1 405 Method Not Allowed',
    ])
    expect(answer.body.visits).to.equal(1)
    expect(store.visits).to.equal(1)
  })

  it('does not answer a second time when the body of an answered request turns out malformed', async () => {
    const answer = await exchange(port, ['POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'], {
      afterAnswer: 'zz\r\n',
    })
    expect(answer.statusLine).to.equal('HTTP/1.1 405 Method Not Allowed')
    expect(answer.text.match(/HTTP\/1\.1 \d{3} /g)).to.have.length(1)
    expect(store.visits).to.equal(0)
  })

  it('still serves HTTP/1.0 without Host, and a GET with an empty body', async () => {
    const old = await exchange(port, ['GET / HTTP/1.0\r\n\r\n'])
    expect(old.statusLine).to.equal('HTTP/1.1 200 OK')
    const empty = await exchange(port, ['GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'])
    expect(empty.statusLine).to.equal('HTTP/1.1 200 OK')
    expect(store.visits).to.equal(2)
  })
})

describe('api parse error answers', () => {
  it('answers a request that stalls with 408 in JSON', async () => {
    // createServer keeps node's check interval (30 s): a bare server with short timeouts and the same handler.
    const stalled = http.createServer({connectionsCheckingInterval: 50, headersTimeout: 200, requestTimeout: 300})
    stalled.on('clientError', (error: Error & ParseError, socket) => answerAndClose(socket, parseErrorResponse(error)))
    await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve))
    try {
      const answer = await exchange((stalled.address() as AddressInfo).port, ['GET / HTTP/1.1\r\nHost: x\r\n'])
      expect(answer.statusLine).to.equal('HTTP/1.1 408 Request Timeout')
      expect(answer.body).to.deep.equal({error: 'request timeout'})
    } finally {
      stalled.close()
    }
  })

  const overflow = (seen: string) =>
    parseErrorResponse({code: 'HPE_HEADER_OVERFLOW', rawPacket: Buffer.from(seen), bytesParsed: seen.length})

  it('tells a long URL from long headers by the chunk that overflowed', () => {
    expect(overflow(`GET /${'a'.repeat(100)}`)?.status).to.equal(414)
    expect(overflow(`GET / HTTP/1.1\r\nX-Big: ${'a'.repeat(100)}`)?.status).to.equal(431)
    // Only the chunk is known: the rest of a URL that began in an earlier read cannot be told from a header.
    expect(overflow('a'.repeat(100))?.status).to.equal(431)
  })

  it('refuses a well-formed unknown method with 405 and anything else with 400', () => {
    const method = (seen: string) =>
      parseErrorResponse({code: 'HPE_INVALID_METHOD', rawPacket: Buffer.from(seen), bytesParsed: 0})
    expect(method('FOO / HTTP/1.1\r\n')?.status).to.equal(405)
    expect(method('get / HTTP/1.1\r\n')?.status).to.equal(405)
    expect(method('\u0016\u0003\u0001')?.status).to.equal(400)
    expect(method('G(T / HTTP/1.1\r\n')?.status).to.equal(400)
  })

  it('maps a timeout to 408 and leaves socket errors unanswered', () => {
    expect(parseErrorResponse({code: 'ERR_HTTP_REQUEST_TIMEOUT'})?.status).to.equal(408)
    expect(parseErrorResponse({code: 'ECONNRESET'})).to.equal(undefined)
    expect(parseErrorResponse({})).to.equal(undefined)
  })

  it('writes a complete response with a Content-Length that matches the body', () => {
    const text = rawResponse({status: 400, body: {error: 'bad request: é'}})
    const [head, body] = text.split('\r\n\r\n')
    expect(head.split('\r\n')[0]).to.equal('HTTP/1.1 400 Bad Request')
    expect(head).to.include('Connection: close')
    expect(head).to.include(`Content-Length: ${Buffer.byteLength(body)}`)
    expect(JSON.parse(body)).to.deep.equal({error: 'bad request: é'})
  })
})
