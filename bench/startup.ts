/**
 * CLI start-up: `stackctl --version` and `stackctl --help` against a bare `node -e ''`, wall time from spawn to
 * exit. The three run interleaved (node, --version, --help, node, …) after one untimed run of each, so drifting
 * load on a shared machine hits all three alike; the targets compare medians. Needs the build, not the engine:
 * `npm run bench -- --only startup` runs just this.
 */
import {cliBin, runProcess} from './proc.js'
import type {StartupResult, TargetResult, TimingSeries} from './results.js'
import {median, round} from './stats.js'

/** The target: start-up within 1.5 times a bare Node.js start. */
export const STARTUP_RATIO_LIMIT = 1.5

const COMMANDS: Array<{command: string; args: string[]}> = [
  {command: "node -e ''", args: ['-e', '']},
  {command: 'stackctl --version', args: [cliBin, '--version']},
  {command: 'stackctl --help', args: [cliBin, '--help']},
]

export async function measureStartup(runs: number): Promise<StartupResult> {
  for (const {args} of COMMANDS) await runProcess(process.execPath, args)
  const times: number[][] = COMMANDS.map(() => [])
  for (let i = 0; i < runs; i++) {
    for (const [index, {args}] of COMMANDS.entries()) times[index].push((await runProcess(process.execPath, args)).ms)
  }
  const [nodeBaseline, version, help] = COMMANDS.map(({command}, index) => series(command, times[index]))
  return {nodeBaseline, version, help}
}

function series(command: string, ms: number[]): TimingSeries {
  return {command, runsMs: ms.map((value) => round(value, 1)), medianMs: round(median(ms), 1)}
}

/** Each command's median over node's, against the 1.5 x limit. Pure. */
export function startupTargets(startup: StartupResult): TargetResult[] {
  return [startup.version, startup.help].map((timed) => {
    const ratio = timed.medianMs / startup.nodeBaseline.medianMs
    return {
      name: `${timed.command} vs node -e '', medians (interleaved)`,
      limit: `<= ${STARTUP_RATIO_LIMIT} x`,
      value: `${round(ratio, 2)} x (${timed.medianMs} / ${startup.nodeBaseline.medianMs} ms)`,
      pass: ratio <= STARTUP_RATIO_LIMIT,
    }
  })
}

/** One line for the report and for `--only startup`. */
export function startupLine({startup}: {startup?: StartupResult}): string {
  if (!startup) return '**CLI start-up** — not measured in this run.'
  const spread = (s: TimingSeries) => `${s.medianMs} ms (${Math.min(...s.runsMs)}–${Math.max(...s.runsMs)})`
  const ratios = startupTargets(startup)
    .map((t) => `${t.name.split(' vs ')[0]} ${t.value.split(' (')[0]}`)
    .join(', ')
  return (
    `**CLI start-up** — ${startup.nodeBaseline.runsMs.length} interleaved runs, medians (min–max): ` +
    `node -e '' ${spread(startup.nodeBaseline)}, --version ${spread(startup.version)}, ` +
    `--help ${spread(startup.help)}; ratios ${ratios} (target <= ${STARTUP_RATIO_LIMIT} x).`
  )
}
