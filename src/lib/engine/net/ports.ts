/** Host ports: whether one can be bound now, and one that was free a moment ago. */
import {connect, createServer} from 'node:net'

export function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen({host, port, exclusive: true}, () => server.close(() => resolve(true)))
  })
}

/** A port the kernel handed out on `host` a moment ago (it may be taken again by the time it is used). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, host, () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/**
 * Whether something answers a connection to host:port: `answers`, `refused`, or `silent` (no answer in time,
 * e.g. a forwarding rule to an address that is gone). On an engine that publishes ports through NAT rules, a
 * port can be bindable here and still be forwarded elsewhere: only a connection tells.
 */
export function answersAt(host: string, port: number, timeoutMs = 500): Promise<'answers' | 'refused' | 'silent'> {
  const target = host === '' || host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host
  return new Promise((resolve) => {
    const socket = connect({host: target, port})
    const done = (outcome: 'answers' | 'refused' | 'silent') => {
      socket.destroy()
      resolve(outcome)
    }
    socket.setTimeout(timeoutMs, () => done('silent'))
    socket.once('connect', () => done('answers'))
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code === 'ETIMEDOUT' ? 'silent' : 'refused'))
  })
}
