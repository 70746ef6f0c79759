/**
 * The container's health probe against a real local HTTP server standing in for the API: healthy on 200,
 * otherwise one line saying why, which the engine keeps in the container's health log.
 */
import {expect} from 'chai'
import http from 'node:http'
import type {AddressInfo} from 'node:net'

import {probeHealth} from '../../src/api/healthcheck.js'
import {freePort} from '../helpers/cli.js'

describe('api health probe', () => {
  let server: http.Server
  let port: number
  let reply: {status: number; body: string; delayMs?: number}

  before(async () => {
    server = http.createServer((_req, res) => {
      setTimeout(
        () => res.writeHead(reply.status, {'Content-Type': 'application/json'}).end(reply.body),
        reply.delayMs ?? 0,
      )
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
  })

  after(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })

  it('is healthy on 200', async () => {
    reply = {status: 200, body: '{"status":"ok"}'}
    expect(await probeHealth(port)).to.deep.equal({healthy: true})
  })

  it('says why the database is unavailable on 503', async () => {
    reply = {status: 503, body: '{"status":"unavailable","database":"not answering","reason":"connection refused"}'}
    expect(await probeHealth(port)).to.deep.equal({healthy: false, reason: 'db unavailable: connection refused'})
  })

  it('names the status of any other answer, and an API that does not answer', async () => {
    reply = {status: 500, body: '{"error":"internal error"}'}
    expect(await probeHealth(port)).to.deep.equal({healthy: false, reason: '/healthz answered HTTP 500'})
    const closed = await freePort()
    expect(await probeHealth(closed)).to.deep.equal({
      healthy: false,
      reason: `the API is not listening on port ${closed} yet: it is starting or waiting for the database (see its log)`,
    })
    reply = {status: 200, body: '{}', delayMs: 500}
    expect(await probeHealth(port, 100)).to.deep.equal({
      healthy: false,
      reason: '/healthz gave no answer within 100 ms',
    })
  })
})
