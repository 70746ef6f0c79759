/**
 * `node server.mjs healthcheck`: the container's HEALTHCHECK, since the image has no curl. Healthy means
 * /healthz answered 200 (the database answered too) within the timeout. Otherwise the probe says why, in one
 * line that the engine keeps in the container's health log (`docker inspect`, and stackctl's diagnosis).
 */
import http from 'node:http'

import {healthzReason} from './healthz-protocol.js'

export const HEALTHCHECK_TIMEOUT_MS = 3000

export type Health = {healthy: true} | {healthy: false; reason: string}

export function probeHealth(port: number, timeoutMs = HEALTHCHECK_TIMEOUT_MS): Promise<Health> {
  return new Promise((resolve) => {
    const request = http.get(
      {host: '127.0.0.1', port, path: '/healthz', signal: AbortSignal.timeout(timeoutMs)},
      (response) => {
        const chunks: Buffer[] = []
        response.on('data', (chunk: Buffer) => chunks.push(chunk))
        response.on('error', (error) => resolve({healthy: false, reason: `reading /healthz failed: ${error.message}`}))
        response.on('end', () => {
          if (response.statusCode === 200) return resolve({healthy: true})
          resolve({healthy: false, reason: healthzReason(response.statusCode, Buffer.concat(chunks).toString())})
        })
      },
    )
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (error.name === 'TimeoutError' || error.name === 'AbortError') {
        return resolve({healthy: false, reason: `/healthz gave no answer within ${timeoutMs} ms`})
      }
      // The API listens only once the database answered and its schema is in place.
      const reason =
        error.code === 'ECONNREFUSED'
          ? `the API is not listening on port ${port} yet: it is starting or waiting for the database (see its log)`
          : `/healthz failed: ${error.code ?? error.message}`
      resolve({healthy: false, reason})
    })
  })
}
