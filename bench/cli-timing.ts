/**
 * The CLI's own cost, measured from the outside as wall time from spawn to exit:
 * - `stackctl up` on the running stack against `docker compose up -d --wait` on the same rendered file;
 * - `stackctl --version` against `node -e ''`;
 * - a cold `stackctl up` after `stackctl down`, split into phases by the time its progress lines arrive.
 * Pairs run interleaved (a, b, a, b, …) after one untimed run of each, so drifting load hits both alike.
 */
import {cliBin, runCli, runProcess, type ProcessResult} from './proc.js'
import type {ColdUpPhases, CliResults, TimingSeries} from './results.js'
import type {BenchStack} from './stack.js'
import {median, round} from './stats.js'

interface Timed {
  command: string
  run: () => Promise<ProcessResult>
}

async function interleaved(a: Timed, b: Timed, runs: number): Promise<[TimingSeries, TimingSeries]> {
  await a.run()
  await b.run()
  const times: [number[], number[]] = [[], []]
  for (let i = 0; i < runs; i++) {
    times[0].push((await a.run()).ms)
    times[1].push((await b.run()).ms)
  }
  const series = (timed: Timed, ms: number[]): TimingSeries => ({
    command: timed.command,
    runsMs: ms.map((value) => round(value, 1)),
    medianMs: round(median(ms), 1),
  })
  return [series(a, times[0]), series(b, times[1])]
}

export function composeUpArgs(stack: BenchStack): string[] {
  const target = ['--project-name', stack.project, '--project-directory', stack.dir, '--file', stack.composeFile]
  return ['compose', ...target, 'up', '--detach', '--wait']
}

/** Milestones of a cold `up`, recognised in its progress lines (stackctl's own and Compose's). */
export function coldUpPhases(project: string, result: ProcessResult): ColdUpPhases {
  const milestones: Array<{name: string; pattern: RegExp}> = [
    {name: 'checked and rendered', pattern: /^images: /},
    {name: 'db started', pattern: new RegExp(`${project}-db-1\\s+Started`)},
    {name: 'db healthy', pattern: new RegExp(`${project}-db-1\\s+Healthy`)},
    {name: 'app started', pattern: new RegExp(`${project}-app-1\\s+Started`)},
    {name: 'app healthy', pattern: new RegExp(`${project}-app-1\\s+Healthy`)},
    {name: 'reported', pattern: /^stack '.*' is up/},
  ]
  const found = milestones.flatMap(({name, pattern}) => {
    const line = result.lines.find((l) => pattern.test(l.text.trim()))
    return line ? [{name, atMs: round(line.atMs, 0)}] : []
  })
  return {totalMs: round(result.ms, 0), milestones: found}
}

export async function measureCli(stack: BenchStack, runs: {up: number; version: number}): Promise<CliResults> {
  const [upRunning, composeUp] = await interleaved(
    {command: 'stackctl up (running stack)', run: () => runCli(['up', ...stack.cliArgs], stack.env)},
    {command: 'docker compose up -d --wait', run: () => runProcess('docker', composeUpArgs(stack))},
    runs.up,
  )
  const [version, nodeBaseline] = await interleaved(
    {command: 'stackctl --version', run: () => runProcess(process.execPath, [cliBin, '--version'])},
    {command: "node -e ''", run: () => runProcess(process.execPath, ['-e', ''])},
    runs.version,
  )
  const down = await runCli(['down', ...stack.cliArgs], stack.env)
  const cold = await runCli(['up', ...stack.cliArgs], stack.env)
  return {
    upRunning,
    composeUp,
    version,
    nodeBaseline,
    downMs: round(down.ms, 0),
    coldUp: coldUpPhases(stack.project, cold),
  }
}
