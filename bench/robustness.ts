/**
 * No request refused while the database is healthy: `GET /` at each level from a warm pool, from a cold one
 * (after the API sat idle longer than its pool's idle timeout) and with other work keeping both cores busy
 * (a CPU burner of one spinning thread per core), each run checked for exact, monotonic totals.
 */
import {cpus} from 'node:os'

import {IDLE_TIMEOUT_MS} from '../src/api/db.js'
import type {Psql} from '../src/lib/operations/db/psql.js'
import {loadApi} from './api-load.js'
import {startBurner} from './burner.js'
import type {CpuTargets} from './cpu.js'
import {finalCounts, judgeExactness, type Reply} from './exactness.js'
import type {LoadResult} from './results.js'

export type Scenario = 'warm' | 'cold' | 'busy' | 'cold+busy'

export interface ScenarioRun {
  scenario: Scenario
  load: LoadResult
}

export interface RobustnessResult {
  levels: number[]
  seconds: number
  /** How long the API sat idle before each cold run: longer than its pool's idle timeout. */
  idleSeconds: number
  burnerThreads: number
  runs: ScenarioRun[]
}

/** Idle this long before a cold run: the pool's idle timeout and a margin. */
export const COLD_IDLE_MS = IDLE_TIMEOUT_MS + 2000
const BURNER_SPIN_UP_MS = 500

/** One load run with its replies recorded and judged; the final counts are read once the load ended. */
export async function checkedLoad(
  psql: Psql,
  url: string,
  connections: number,
  seconds: number,
  cpuTargets: CpuTargets,
): Promise<LoadResult> {
  const replies: Reply[] = []
  const load = await loadApi(url, connections, seconds, cpuTargets, replies)
  return {...load, exactness: judgeExactness(replies, await finalCounts(psql, url))}
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export async function measureRobustness(
  psql: Psql,
  url: string,
  options: {levels: number[]; seconds: number; cpuTargets: CpuTargets; log: (message: string) => void},
): Promise<RobustnessResult> {
  const {levels, seconds, cpuTargets, log} = options
  const threads = cpus().length
  const runs: ScenarioRun[] = []
  const measure = async (scenario: Scenario, connections: number) => {
    const cold = scenario.startsWith('cold')
    const busy = scenario.endsWith('busy')
    log(
      `API ${scenario}, ${connections} connections, ${seconds} s${cold ? ` after ${COLD_IDLE_MS / 1000} s idle` : ''}`,
    )
    if (cold) await sleep(COLD_IDLE_MS)
    const burner = busy ? startBurner(threads, seconds + 30) : undefined
    try {
      if (burner) await sleep(BURNER_SPIN_UP_MS)
      runs.push({scenario, load: await checkedLoad(psql, url, connections, seconds, cpuTargets)})
    } finally {
      await burner?.stop()
    }
  }
  for (const connections of levels) await measure('cold', connections)
  for (const connections of levels) await measure('busy', connections)
  await measure('cold+busy', Math.max(...levels))
  return {levels, seconds, idleSeconds: COLD_IDLE_MS / 1000, burnerThreads: threads, runs}
}
