/**
 * `node server.mjs healthcheck`: the container's HEALTHCHECK, since the image has no curl. Healthy means
 * /healthz answered 200 (the database answered too) within the timeout.
 */
import http from 'node:http'

export const HEALTHCHECK_TIMEOUT_MS = 3000

export function probeHealth(port: number, timeoutMs = HEALTHCHECK_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get(
      {host: '127.0.0.1', port, path: '/healthz', signal: AbortSignal.timeout(timeoutMs)},
      (response) => {
        response.resume()
        resolve(response.statusCode === 200)
      },
    )
    request.on('error', () => resolve(false))
  })
}
