/**
 * Wires the API together: pool, database wait and schema, HTTP server. Used by main.ts and, in-process, by
 * the integration tests.
 */
import type http from 'node:http'
import type {AddressInfo} from 'node:net'
import {hostname} from 'node:os'

import type {ApiConfig} from './config.js'
import {PgVisitStore} from './db.js'
import type {Logger} from './log.js'
import type {BackoffOptions} from './retry.js'
import {closeServer, createServer} from './server.js'

export interface RunningApi {
  server: http.Server
  port: number
  url: string
  /** Graceful stop: no new connections, in-flight requests finish, then the pool closes. */
  stop(): Promise<void>
}

export interface StartOptions {
  logger: Logger
  /** Aborting gives up waiting for the database. */
  signal?: AbortSignal
  backoff?: BackoffOptions
}

function listen(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

export async function startApi(config: ApiConfig, options: StartOptions): Promise<RunningApi> {
  const {logger} = options
  const store = new PgVisitStore(config.db, logger)
  const server = createServer({store, logger, message: config.message, host: hostname(), stack: config.stack})
  try {
    await store.prepare(options)
    const port = await listen(server, config.host, config.port)
    options.signal?.throwIfAborted()
    const host = config.host.includes(':') ? `[${config.host}]` : config.host
    logger.info('listening', {host: config.host, port})
    return {
      server,
      port,
      url: `http://${host}:${port}`,
      async stop() {
        await closeServer(server)
        await store.close()
      },
    }
  } catch (error) {
    if (server.listening) await closeServer(server)
    await store.close()
    throw error
  }
}
