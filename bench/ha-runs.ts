/**
 * The HA step's fault runs, without I/O: one run read from `verify-persistence --json` (or one that could not
 * start), and each fault's summary (visits lost, write outage percentiles, leaders seen, rejoins).
 */
import {percentile, round} from './stats.js'

/** The faults injected into the leader's node: SIGKILL of its container, a pause of it, a partition of it. */
export const HA_FAULTS = ['kill', 'pause', 'partition'] as const
export type HaFault = (typeof HA_FAULTS)[number]

/** The `verify-persistence --target swarm --mode` each fault runs (kill is the check's `failover` mode). */
export const FAULT_MODE: Record<HaFault, 'failover' | 'pause' | 'partition'> = {
  kill: 'failover',
  pause: 'pause',
  partition: 'partition',
}

export interface FaultRun {
  fault: HaFault
  /** 1-based, within its fault. */
  run: number
  passed: boolean
  exitCode: number
  /** Wall time of the check, spawn to exit (the settle wait before it not included). */
  seconds: number
  acknowledged: number | null
  /** Acknowledged visits missing afterwards; null when the check never reached its set check. */
  lost: number | null
  outageSeconds: number | null
  maxLeadersSeen: number | null
  oldLeaderRejoined: boolean | null
  leaderBefore: string | null
  leaderAfter: string | null
  /** Why the run failed (the check's own reasons, its abort, or why it could not start); null when it passed. */
  reason: string | null
  /** A failed check's last lines on stderr (its steps, as it printed them), to see where it stopped; else null. */
  output: string | null
}

/** What `verify-persistence --json` prints, as far as this step reads it. */
interface CheckJson {
  passed?: boolean
  acknowledged?: number
  missingCount?: number | null
  reasons?: string[]
  aborted?: {phase: string; message: string} | null
  swarm?: {
    failover?: {
      leaderBefore?: string
      leaderAfter?: string | null
      outageSeconds?: number | null
      maxLeadersSeen?: number
      oldLeaderRejoined?: boolean
    } | null
  } | null
}

/** One run from the check's exit code and output; output that is not its JSON makes a failed run saying so. */
export function readFaultRun(
  fault: HaFault,
  run: number,
  process: {exitCode: number; stdout: string; stderr: string; ms: number},
): FaultRun {
  const base = {
    fault,
    run,
    exitCode: process.exitCode,
    seconds: round(process.ms / 1000, 1),
    output: lastLines(process.stderr, OUTPUT_LINES) || null,
  }
  let json: CheckJson
  try {
    json = JSON.parse(process.stdout) as CheckJson
  } catch {
    const said = lastLine(process.stderr) || lastLine(process.stdout) || 'no output'
    return {...base, ...NOTHING_READ, passed: false, reason: `exit ${process.exitCode}, no JSON result: ${said}`}
  }
  const failover = json.swarm?.failover ?? undefined
  const passed = json.passed === true && process.exitCode === 0
  const reasons = [...(json.aborted ? [`${json.aborted.phase}: ${json.aborted.message}`] : []), ...(json.reasons ?? [])]
  return {
    ...base,
    passed,
    acknowledged: json.acknowledged ?? null,
    lost: json.missingCount ?? null,
    outageSeconds: failover?.outageSeconds ?? null,
    maxLeadersSeen: failover?.maxLeadersSeen ?? null,
    oldLeaderRejoined: failover?.oldLeaderRejoined ?? null,
    leaderBefore: failover?.leaderBefore ?? null,
    leaderAfter: failover?.leaderAfter ?? null,
    // The abort is one of the check's reasons too: each said once.
    reason: passed ? null : [...new Set(reasons)].join('; ') || `exit ${process.exitCode}`,
    output: passed ? null : base.output,
  }
}

const NOTHING_READ = {
  acknowledged: null,
  lost: null,
  outageSeconds: null,
  maxLeadersSeen: null,
  oldLeaderRejoined: null,
  leaderBefore: null,
  leaderAfter: null,
}

/** A run that could not start (the cluster did not settle before it): failed, with the reason. */
export function unstartedRun(fault: HaFault, run: number, reason: string): FaultRun {
  return {fault, run, exitCode: -1, seconds: 0, ...NOTHING_READ, passed: false, reason, output: null}
}

const OUTPUT_LINES = 15

function lastLines(text: string, count: number): string {
  return text
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.trim())
    .slice(-count)
    .join('\n')
}

function lastLine(text: string): string {
  return lastLines(text, 1).trim()
}

export interface FaultSummary {
  fault: HaFault
  runs: number
  passed: number
  /** Acknowledged visits lost over the runs that reached their set check. */
  lost: number
  /** Runs that never reached their set check: whether they lost anything is unknown. */
  unchecked: number
  acknowledged: number
  /** Over the runs that measured an outage. */
  outage: {p50: number; p95: number; max: number; measured: number} | null
  /** The most leaders seen at once in any run; null when no run reported it. */
  maxLeadersSeen: number | null
  rejoined: number
  failures: Array<{run: number; reason: string}>
}

export function summarizeFault(fault: HaFault, runs: readonly FaultRun[]): FaultSummary {
  const mine = runs.filter((r) => r.fault === fault)
  const outages = mine.map((r) => r.outageSeconds).filter((s): s is number => s !== null)
  const leaders = mine.map((r) => r.maxLeadersSeen).filter((n): n is number => n !== null)
  return {
    fault,
    runs: mine.length,
    passed: mine.filter((r) => r.passed).length,
    lost: mine.reduce((sum, r) => sum + (r.lost ?? 0), 0),
    unchecked: mine.filter((r) => r.lost === null).length,
    acknowledged: mine.reduce((sum, r) => sum + (r.acknowledged ?? 0), 0),
    outage:
      outages.length === 0
        ? null
        : {
            p50: round(percentile(outages, 0.5), 1),
            p95: round(percentile(outages, 0.95), 1),
            max: round(Math.max(...outages), 1),
            measured: outages.length,
          },
    maxLeadersSeen: leaders.length === 0 ? null : Math.max(...leaders),
    rejoined: mine.filter((r) => r.oldLeaderRejoined === true).length,
    failures: mine.filter((r) => !r.passed).map((r) => ({run: r.run, reason: r.reason ?? 'failed'})),
  }
}
