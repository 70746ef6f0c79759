import type {BenchResults, LoadResult} from '../results.js'

function load(connections: number, rps: number, p50: number, p99: number): LoadResult {
  return {connections, seconds: 10, requests: rps * 10, rps, p50, p99, non2xx: 0, errors: 0, timeouts: 0, loadBefore: 1}
}

function checked(connections: number, rps: number, p50: number, p99: number): LoadResult {
  const total = rps * 10
  const exactness = {replies: total, monotonicViolations: 0, duplicateTotals: 0, finalTotal: total + 1, rows: total + 1}
  return {...load(connections, rps, p50, p99), exactness: {...exactness, counted: total + 1, exact: true}}
}

/** One 10 s load run at 32 connections with its exactness check (exact unless said). */
export function checkedAt32(rps: number, exact = true): LoadResult {
  return {
    ...load(32, rps, 10, 40),
    exactness: {
      replies: rps * 10,
      monotonicViolations: 0,
      duplicateTotals: exact ? 0 : 1,
      finalTotal: 5,
      rows: 5,
      counted: 5,
      exact,
    },
  }
}

/** A plausible run in which every target is met. */
export function sampleResults(): BenchResults {
  const series = (command: string, medianMs: number) => ({command, runsMs: [medianMs], medianMs})
  return {
    startedAt: '2026-11-24T12:00:00.000Z',
    finishedAt: '2026-11-24T12:03:00.000Z',
    durationSeconds: 180,
    machine: {
      cpus: 2,
      cpuModel: 'test cpu',
      memoryGiB: 8,
      kernel: '6.1',
      node: 'v20.20.2',
      engine: '20.10.24',
      engineApi: '1.41',
      compose: '2.26.1',
      loadAtStart: 0.5,
      otherContainersAtStart: 0,
    },
    portPath: 'kernel NAT',
    api: [checked(1, 900, 1.1, 2.5), checked(32, 4000, 8, 25), checked(128, 4000, 30, 60)],
    pgbench: [1, 32, 128].map((requestedClients) => ({
      requestedClients,
      clients: Math.min(requestedClients, 96),
      seconds: 10,
      tps: 6000,
      latencyAvgMs: 5,
      transactions: 60_000,
      failed: 0,
      loadBefore: 1,
    })),
    plainInsert: {
      requestedClients: 32,
      clients: 32,
      seconds: 10,
      tps: 6000,
      latencyAvgMs: 5,
      transactions: 60_000,
      failed: 0,
      loadBefore: 1,
    },
    robustness: {
      levels: [1, 200],
      seconds: 5,
      idleSeconds: 12,
      burnerThreads: 2,
      runs: [
        {scenario: 'cold', load: checked(200, 3000, 60, 90)},
        {scenario: 'busy', load: checked(1, 500, 2, 5)},
      ],
    },
    scale: {
      rows: 1_000_000,
      counterExact: true,
      growSeconds: 20,
      empty: load(32, 3000, 10, 25),
      grown: load(32, 2900, 11, 26),
    },
    cli: {
      upRunning: series('stackctl up', 600),
      composeUp: series('docker compose up', 1100),
      upStopped: series('stackctl up (stopped stack)', 6200),
      composeUpStopped: series('docker compose up -d --wait (stopped stack)', 6000),
      version: series('stackctl --version', 100),
      nodeBaseline: series("node -e ''", 70),
      downMs: 1500,
      coldUp: {totalMs: 6000, milestones: [{name: 'db healthy', atMs: 3000}]},
    },
    image: {
      appImage: 'stackctl-app:x',
      appBytes: 182_200_000,
      baseImage: 'stackctl/node:20',
      baseBytes: 182_000_000,
      addedBytes: 200_000,
    },
  }
}
