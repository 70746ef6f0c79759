/**
 * HTTP load on the API's `GET /` with autocannon, in this process: a fixed number of keep-alive connections
 * for a fixed time. Latency percentiles come from every response's own timing (autocannon's histogram has
 * 1 ms resolution, too coarse at low latency).
 */
import {loadavg} from 'node:os'

import autocannon from 'autocannon'

import {withCpuShares, type CpuTargets} from './cpu.js'
import type {Reply} from './exactness.js'
import type {LoadResult} from './results.js'
import {percentile, round} from './stats.js'

/** Only loopback: the benchmark never sends traffic anywhere else. */
export function assertLoopback(url: string): void {
  if (new URL(url).hostname !== '127.0.0.1') throw new Error(`refusing to load ${url}: only 127.0.0.1 is allowed`)
}

/**
 * Runs autocannon; with `replies`, also keeps each 200 reply's total with its send and arrival time.
 * autocannon hands a reply's body to onResponse and, right after in the same tick, its timing to the
 * 'response' event; the send time is derived from the arrival and the response time.
 */
function run(
  url: string,
  connections: number,
  seconds: number,
  latencies: number[],
  replies?: Reply[],
): Promise<autocannon.Result> {
  let body: {status: number; text: string} | undefined
  const requests = replies && [
    {method: 'GET' as const, path: '/', onResponse: (status: number, text: string) => (body = {status, text})},
  ]
  return new Promise((resolve, reject) => {
    const instance = autocannon({url, connections, duration: seconds, timeout: 10, requests}, (error, done) =>
      error ? reject(error) : resolve(done),
    )
    instance.on('response', (_client, _status, _bytes, responseTime) => {
      latencies.push(responseTime)
      if (replies && body?.status === 200) {
        const receivedAt = performance.now()
        replies.push({
          sentAt: receivedAt - responseTime,
          receivedAt,
          total: (JSON.parse(body.text) as {visits: number}).visits,
        })
      }
      body = undefined
    })
  })
}

export async function loadApi(
  url: string,
  connections: number,
  seconds: number,
  cpuTargets: CpuTargets = {},
  replies?: Reply[],
): Promise<LoadResult> {
  assertLoopback(url)
  const latencies: number[] = []
  const loadBefore = loadavg()[0]
  const [result, cpu] = await withCpuShares(cpuTargets, () => run(url, connections, seconds, latencies, replies))
  return {
    connections,
    seconds: round(result.duration, 3),
    requests: result.requests.total,
    rps: round(result.requests.total / result.duration, 1),
    p50: round(percentile(latencies, 0.5)),
    p99: round(percentile(latencies, 0.99)),
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    loadBefore: round(loadBefore),
    cpu,
  }
}

/** Warms the API, its pool and the database up; the numbers are discarded. */
export async function warmUp(url: string, connections: number, seconds: number): Promise<void> {
  await loadApi(url, connections, seconds)
}
