import {expect} from 'chai'
import {chmodSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {EnvironmentError} from '../../../../src/lib/errors.js'
import {assertRoot, checkMirror, findDebootstrap} from '../../../../src/lib/engine/images/preflight.js'

/** A stand-in mirror on loopback that carries only the `trixie` suite; `slow` never answers. */
function fakeMirror(): Promise<{url: string; server: Server}> {
  const server = createServer((request, response) => {
    if (request.url === '/debian/dists/trixie/Release') response.end('Suite: stable\n')
    else if (request.url?.startsWith('/slow/')) return
    else response.writeHead(404).end()
  })
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server})
    })
  })
}

describe('image build preflight', () => {
  describe('root', () => {
    it('passes for root and names the fix otherwise', () => {
      expect(() => assertRoot(0)).to.not.throw()
      expect(() => assertRoot(1000))
        .to.throw(EnvironmentError, 'needs root')
        .with.property('suggestion')
        .that.matches(/sudo stackctl images build/)
    })
  })

  describe('debootstrap', () => {
    let dir: string
    before(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'stackctl-preflight-'))
      writeFileSync(path.join(dir, 'debootstrap'), '#!/bin/sh\n')
      chmodSync(path.join(dir, 'debootstrap'), 0o755)
    })
    after(() => rmSync(dir, {recursive: true, force: true}))

    it('finds it on PATH or in the sbin folders', async () => {
      expect(await findDebootstrap(`/nonexistent:${dir}`, [])).to.equal(path.join(dir, 'debootstrap'))
      expect(await findDebootstrap('/nonexistent', [dir])).to.equal(path.join(dir, 'debootstrap'))
    })

    it('says how to install it when it is missing', async () => {
      const error = await findDebootstrap('/nonexistent', []).catch((caught: unknown) => caught)
      expect(error).to.be.instanceOf(EnvironmentError)
      expect((error as EnvironmentError).message).to.equal('debootstrap is not installed')
      expect((error as EnvironmentError).suggestion).to.match(/apt-get install debootstrap/)
      expect((error as EnvironmentError).exitCode).to.equal(2)
    })
  })

  describe('mirror', () => {
    let mirror: {url: string; server: Server}
    before(async () => (mirror = await fakeMirror()))
    after(() => {
      mirror.server.closeAllConnections()
      mirror.server.close()
    })

    it('passes when the mirror carries the suite', async () => {
      await checkMirror(`${mirror.url}/debian`, 'trixie')
    })

    it('names a missing suite', async () => {
      const error = await checkMirror(`${mirror.url}/debian`, 'nosuch').catch((caught: unknown) => caught)
      expect(error).to.be.instanceOf(EnvironmentError)
      expect((error as Error).message).to.match(/has no suite 'nosuch'/)
    })

    it('fails fast when nothing answers', async () => {
      const closed = createServer()
      const port = await new Promise<number>((resolve) =>
        closed.listen(0, '127.0.0.1', () => resolve((closed.address() as AddressInfo).port)),
      )
      await new Promise((resolve) => closed.close(resolve))
      const error = await checkMirror(`http://127.0.0.1:${port}/debian`, 'trixie').catch((caught: unknown) => caught)
      expect(error).to.be.instanceOf(EnvironmentError)
      expect((error as Error).message).to.match(/cannot reach the Debian mirror .* \(ECONNREFUSED\)/)
      expect((error as EnvironmentError).suggestion).to.match(/--mirror/)
    })

    it('gives up after the timeout', async () => {
      const started = Date.now()
      const error = await checkMirror(`${mirror.url}/slow`, 'trixie', 300).catch((caught: unknown) => caught)
      expect((error as Error).message).to.match(/no answer within 0.3 s/)
      expect(Date.now() - started).to.be.below(5000)
    })
  })
})
