import {expect} from 'chai'
import {Duplex, PassThrough, Readable} from 'node:stream'

import {feed, FeedError} from '../../../src/lib/engine/feed.js'

/** A stand-in for the exec socket: records what it receives; `stall` leaves writes unacknowledged (a full pipe). */
function fakeSocket(options: {stall?: boolean} = {}) {
  const received: Buffer[] = []
  let ended = false
  const socket = new Duplex({
    highWaterMark: 16,
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      received.push(chunk)
      if (!options.stall) callback()
    },
    final(callback) {
      ended = true
      callback()
    },
  })
  socket.resume()
  return {socket, received, ended: () => ended}
}

function settledWithin<T>(promise: Promise<T>, ms: number): Promise<{value?: T; error?: unknown; timedOut?: true}> {
  return Promise.race([
    promise.then(
      (value) => ({value}),
      (error: unknown) => ({error}),
    ),
    new Promise<{timedOut: true}>((resolve) => setTimeout(() => resolve({timedOut: true}), ms)),
  ])
}

describe('feed (exec stdin)', () => {
  it('passes the whole source and half-closes the socket at its end', async () => {
    const {socket, received, ended} = fakeSocket()
    await feed(Readable.from([Buffer.from('abc'), Buffer.from('def')]), socket)
    await new Promise((resolve) => setImmediate(resolve))
    expect(Buffer.concat(received).toString()).to.equal('abcdef')
    expect(ended()).to.equal(true)
  })

  it('settles when the process stops reading and the engine closes the connection without an error', async () => {
    const {socket} = fakeSocket({stall: true})
    const source = new PassThrough()
    source.write(Buffer.alloc(1024 * 1024)) // far beyond what the stalled socket accepts
    const feeding = feed(source, socket)
    // Negative control: while the connection is open the feed is (rightly) still waiting.
    expect(await settledWithin(feeding, 50)).to.deep.equal({timedOut: true})
    socket.push(null) // the engine ends the stream: the process exited after reading only the head
    const outcome = await settledWithin(feeding, 1000)
    expect(outcome.error).to.be.instanceOf(FeedError).and.include({side: 'stdin'})
    expect(source.destroyed).to.equal(true)
  })

  it('tells a source that cannot be read from a broken stdin', async () => {
    const {socket} = fakeSocket()
    const source = new PassThrough()
    const feeding = feed(source, socket)
    source.destroy(Object.assign(new Error('EACCES: permission denied'), {code: 'EACCES'}))
    const error = await feeding.catch((e: unknown) => e)
    expect(error).to.be.instanceOf(FeedError).and.include({side: 'source'})
    expect((error as FeedError).cause.message).to.include('EACCES')

    const broken = fakeSocket()
    const stdin = feed(new PassThrough(), broken.socket)
    broken.socket.destroy(Object.assign(new Error('write EPIPE'), {code: 'EPIPE'}))
    expect(await stdin.catch((e: unknown) => e))
      .to.be.instanceOf(FeedError)
      .and.include({side: 'stdin'})
  })
})
