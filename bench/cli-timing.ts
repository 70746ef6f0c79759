/**
 * The CLI's own cost, measured from the outside as wall time from spawn to exit:
 * - `stackctl up` on the running stack against `docker compose up -d --wait` on the same rendered file;
 * - the same two on the stack stopped by `docker compose stop` before each run (containers kept);
 * - `stackctl --version` against `node -e ''`;
 * - a cold `stackctl up` after `stackctl down`, split into phases by the time its progress lines arrive.
 * Pairs run interleaved after one untimed run of each, so drifting load hits both alike; the order within a
 * pair turns each round (a b, b a, a b, …), so what a run leaves behind (a checkpoint, a cold cache) falls on
 * each side equally often.
 */
import {cliBin, runCli, runProcess, type ProcessResult} from './proc.js'
import type {ColdUpPhases, CliResults, TimingSeries} from './results.js'
import type {BenchStack} from './stack.js'
import type {UpTimings} from './up-report.js'
import {median, round} from './stats.js'

interface Timed {
  command: string
  run: () => Promise<ProcessResult>
  /** Untimed, before each run: puts the stack in the state the run starts from. */
  before?: () => Promise<unknown>
}

/** Which of a pair runs first in round `round`: a, then b, then a, … */
export function pairOrder(round: number): [0, 1] | [1, 0] {
  return round % 2 === 0 ? [0, 1] : [1, 0]
}

async function interleaved(a: Timed, b: Timed, runs: number): Promise<[TimingSeries, TimingSeries]> {
  const pair = [a, b] as const
  const timed = async (t: Timed) => {
    await t.before?.()
    return (await t.run()).ms
  }
  await timed(a)
  await timed(b)
  const times: [number[], number[]] = [[], []]
  for (let i = 0; i < runs; i++) {
    for (const index of pairOrder(i)) times[index].push(await timed(pair[index]))
  }
  const series = (timed: Timed, ms: number[]): TimingSeries => ({
    command: timed.command,
    runsMs: ms.map((value) => round(value, 1)),
    medianMs: round(median(ms), 1),
  })
  return [series(a, times[0]), series(b, times[1])]
}

function composeTarget(stack: BenchStack): string[] {
  return ['compose', '--project-name', stack.project, '--project-directory', stack.dir, '--file', stack.composeFile]
}

export function composeUpArgs(stack: BenchStack): string[] {
  return [...composeTarget(stack), 'up', '--detach', '--wait']
}

/** Stops the containers and keeps them (both sides of the stopped comparison start from this). */
export function composeStopArgs(stack: BenchStack): string[] {
  return [...composeTarget(stack), 'stop']
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

/** `stackctl up` against Compose's, on the running stack and then from stopped; the stack is left running. */
export async function measureUp(stack: BenchStack, runs: number): Promise<UpTimings> {
  const stackctlUp = () => runCli(['up', ...stack.cliArgs], stack.env)
  const composeUp = () => runProcess('docker', composeUpArgs(stack), {env: dockerEnv(stack)})
  const [upRunning, composeUpRunning] = await interleaved(
    {command: 'stackctl up (running stack)', run: stackctlUp},
    {command: 'docker compose up -d --wait', run: composeUp},
    runs,
  )
  const stop = () => runProcess('docker', composeStopArgs(stack), {env: dockerEnv(stack)})
  const [upStopped, composeUpStopped] = await interleaved(
    {command: 'stackctl up (stopped stack)', run: stackctlUp, before: stop},
    {command: 'docker compose up -d --wait (stopped stack)', run: composeUp, before: stop},
    runs,
  )
  return {upRunning, composeUp: composeUpRunning, upStopped, composeUpStopped}
}

function dockerEnv(stack: BenchStack): NodeJS.ProcessEnv {
  return stack.dockerHost ? {DOCKER_HOST: stack.dockerHost} : {}
}

export async function measureCli(stack: BenchStack, runs: {up: number; version: number}): Promise<CliResults> {
  const up = await measureUp(stack, runs.up)
  const [version, nodeBaseline] = await interleaved(
    {command: 'stackctl --version', run: () => runProcess(process.execPath, [cliBin, '--version'])},
    {command: "node -e ''", run: () => runProcess(process.execPath, ['-e', ''])},
    runs.version,
  )
  const down = await runCli(['down', ...stack.cliArgs], stack.env)
  const cold = await runCli(['up', ...stack.cliArgs], stack.env)
  return {
    ...up,
    version,
    nodeBaseline,
    downMs: round(down.ms, 0),
    coldUp: coldUpPhases(stack.project, cold),
  }
}
