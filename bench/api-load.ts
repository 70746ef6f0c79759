/**
 * HTTP load on the API's `GET /` with autocannon, in this process: a fixed number of keep-alive connections
 * for a fixed time. Latency percentiles come from every response's own timing (autocannon's histogram has
 * 1 ms resolution, too coarse at low latency).
 */
import type {EventEmitter} from 'node:events'
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
 * Runs autocannon; with `replies`, also keeps each 200 reply's total with its send and arrival time, both
 * read on this process's clock: the send time when autocannon's client is about to write the request (never
 * after it), the arrival time once the whole reply was parsed (never before). autocannon hands the body to
 * onResponse and, right after in the same tick, emits the client's 'response'.
 */
function run(
  url: string,
  connections: number,
  seconds: number,
  latencies: number[],
  replies?: Reply[],
): Promise<autocannon.Result> {
  let body: {status: number; text: string} | undefined
  const sentAt = new WeakMap<object, number>()
  const recording = replies && {
    requests: [
      {method: 'GET' as const, path: '/', onResponse: (status: number, text: string) => (body = {status, text})},
    ],
    setupClient: (client: autocannon.Client) => {
      // autocannon's client emits 'request' just before writing each request; its types leave it out.
      ;(client as unknown as EventEmitter).on('request', () => sentAt.set(client, performance.now()))
      client.on('response', (status: number) => {
        const receivedAt = performance.now()
        if (status === 200 && body?.status === 200) {
          const total = (JSON.parse(body.text) as {visits: number}).visits
          replies.push({sentAt: sentAt.get(client) ?? Number.NaN, receivedAt, total})
        }
        body = undefined
      })
    },
  }
  return new Promise((resolve, reject) => {
    const instance = autocannon({url, connections, duration: seconds, timeout: 10, ...recording}, (error, done) =>
      error ? reject(error) : resolve(done),
    )
    instance.on('response', (_client, _status, _bytes, responseTime) => latencies.push(responseTime))
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
