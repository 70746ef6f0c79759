/**
 * Feeding a stream into a process's stdin over the exec's hijacked socket. No I/O of its own: unit tests hand
 * in plain streams.
 */
import type {Readable, Writable} from 'node:stream'

/** Which side of a feed broke: reading the source, or writing into the process's stdin. */
export class FeedError extends Error {
  constructor(
    readonly side: 'source' | 'stdin',
    override readonly cause: Error,
  ) {
    super(cause.message)
  }
}

/**
 * Pipes `source` into the socket and half-closes it at the end so the process sees EOF. Settles in every
 * case, which a plain pipe does not: a process that exits before reading all its input (pg_restore --list
 * needs only the table of contents) makes the engine close the connection, often without any error on our
 * side, and the source would then wait for a 'drain' that never comes.
 */
export function feed(source: Readable, socket: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false
    const cleanup = () => {
      source.off('error', onSourceError)
      source.off('end', onEnd)
      socket.off('error', onSocketError)
      socket.off('end', onClosed)
      socket.off('close', onClosed)
    }
    const fail = (side: 'source' | 'stdin', error: Error) => {
      if (settled) return
      settled = true
      cleanup()
      source.unpipe(socket)
      source.destroy()
      reject(new FeedError(side, error))
    }
    const onSourceError = (error: Error) => fail('source', error)
    const onSocketError = (error: Error) => fail('stdin', error)
    const onClosed = () => fail('stdin', new Error('the process closed its input before reading all of it'))
    const onEnd = () => {
      if (settled) return
      settled = true
      cleanup()
      socket.end()
      resolve()
    }
    source.once('error', onSourceError)
    source.once('end', onEnd)
    socket.once('error', onSocketError)
    socket.once('end', onClosed)
    socket.once('close', onClosed)
    source.pipe(socket, {end: false})
  })
}
