/**
 * `node --import tsx bench/lifecycle-timing.ts [--visits 1000] [--runs 3]`: times that are reported, not
 * judged. On a stack of its own (removed at the end):
 * - `stackctl up` on a stopped stack (containers stopped, images present) against `docker compose up -d
 *   --wait` on the same rendered files, alternating, each after `docker compose stop`;
 * - `stackctl verify-persistence --visits N` per mode, with its phases read from the time its progress lines
 *   arrive.
 * Prints one JSON object.
 */
import {parseArgs} from 'node:util'

import {createEngine} from '../src/lib/engine/dockerode-engine.js'
import {composeStopArgs, composeUpArgs} from './cli-timing.js'
import {runCli, runProcess, type ProcessResult} from './proc.js'
import {createStack, removeStack, startStack} from './stack.js'
import {median, round} from './stats.js'

/** Each non-empty progress line with its time since the start, as the phases of the run. */
function phases(result: ProcessResult): Array<{atMs: number; line: string}> {
  return result.lines.map((l) => ({atMs: round(l.atMs, 0), line: l.text.trim().slice(0, 120)})).filter((l) => l.line)
}

async function main(): Promise<void> {
  const {values} = parseArgs({options: {visits: {type: 'string'}, runs: {type: 'string'}}})
  const visits = Number(values.visits ?? 1000)
  const runs = Number(values.runs ?? 3)
  const engine = createEngine()
  const stack = await createStack()
  try {
    await startStack(stack)
    const stopped: {stackctl: number[]; compose: number[]} = {stackctl: [], compose: []}
    for (let i = 0; i < runs; i++) {
      await runProcess('docker', composeStopArgs(stack))
      stopped.stackctl.push((await runCli(['up', ...stack.cliArgs], stack.env)).ms)
      await runProcess('docker', composeStopArgs(stack))
      stopped.compose.push((await runProcess('docker', composeUpArgs(stack))).ms)
    }
    const persistence = []
    for (const mode of ['down', 'recreate', 'kill']) {
      const args = ['verify-persistence', ...stack.cliArgs, '--mode', mode, '--visits', String(visits)]
      const result = await runCli(args, stack.env)
      persistence.push({mode, totalMs: round(result.ms, 0), exitCode: result.exitCode, phases: phases(result)})
    }
    const summary = (ms: number[]) => ({medianMs: round(median(ms), 0), runsMs: ms.map((v) => round(v, 0))})
    const upStopped = {stackctl: summary(stopped.stackctl), compose: summary(stopped.compose)}
    process.stdout.write(`${JSON.stringify({upStopped, persistence}, null, 2)}\n`)
  } finally {
    for (const problem of await removeStack(engine, stack)) process.stderr.write(`cleanup: ${problem}\n`)
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`lifecycle-timing failed: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  },
)
