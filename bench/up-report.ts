/**
 * `stackctl up` against Compose's own `docker compose up -d --wait` on the same rendered file: on a running
 * stack (nothing to do) and on a stopped one (containers kept, started again). The judgement and its lines.
 * Pure: bench/cli-timing.ts measures.
 */
import type {CliResults, TargetResult, TimingSeries} from './results.js'
import {round} from './stats.js'

/** The targets: a no-op up no slower than Compose's, a start from stopped within 5 % of it. */
export const UP_LIMITS = {running: 1, stopped: 1.05} as const

export type UpTimings = Pick<CliResults, 'upRunning' | 'composeUp' | 'upStopped' | 'composeUpStopped'>

function judged(name: string, limit: number, ours: TimingSeries, theirs: TimingSeries): TargetResult {
  const ratio = ours.medianMs / theirs.medianMs
  return {
    name,
    limit: `<= ${limit} x`,
    value: `${round(ratio, 2)} x (${ours.medianMs} / ${theirs.medianMs} ms)`,
    pass: ratio <= limit,
  }
}

/** Both comparisons; the stopped one only when the run measured it (runs before it existed did not). */
export function upTargets(cli: UpTimings): TargetResult[] {
  const targets = [
    judged(
      'stackctl up (running) vs docker compose up -d --wait, medians',
      UP_LIMITS.running,
      cli.upRunning,
      cli.composeUp,
    ),
  ]
  if (cli.upStopped && cli.composeUpStopped) {
    targets.push(
      judged(
        'stackctl up (stopped) vs docker compose up -d --wait, medians',
        UP_LIMITS.stopped,
        cli.upStopped,
        cli.composeUpStopped,
      ),
    )
  }
  return targets
}

/** The timed series of an up comparison, in the order the report lists them. */
export function upSeries(cli: UpTimings): TimingSeries[] {
  return [cli.upRunning, cli.composeUp, cli.upStopped, cli.composeUpStopped].filter(
    (s): s is TimingSeries => s !== undefined,
  )
}

/** `--only up`'s printout: each series and each judgement. */
export function upLines(cli: UpTimings): string {
  const runs = upSeries(cli).map((s) => `${s.command}: median ${s.medianMs} ms (${s.runsMs.join(', ')})`)
  const targets = upTargets(cli).map((t) => `${t.pass ? 'PASS' : 'FAIL'}  ${t.name}  ${t.value}  (target ${t.limit})`)
  return [...runs, ...targets].join('\n')
}
