/**
 * What a running stack costs while nobody uses it: the engine's health checks (each one forks processes in
 * the container, runc's exec through the container's shim, a backend in PostgreSQL) are all it does. Measured
 * over a window of whole seconds on a settled stack, three ways:
 * - stack: the two containers' cgroups, their containerd shims (with the children they reaped: runc, and the
 *   health checks' own processes, which the containers' cgroups count as well), and dockerd + containerd above
 *   what they used in a baseline window taken just before the stack started. The checks' processes are counted
 *   twice, so this is an upper bound: what it keeps under the target, the real cost is under too;
 * - machine: the whole machine's busy cores (/proc/stat) minus the same baseline (noisy when others work).
 * The target is on `stack`. Linux only; parts that cannot be read are left out.
 */
import {readdir, readFile} from 'node:fs/promises'
import {cpus, loadavg} from 'node:os'

import {containerCpuMs, machineCpuMs, TICK_MS} from './cpu.js'
import type {IdleCpuResult, TargetResult} from './results.js'
import {round} from './stats.js'

/** The most an idle stack may cost, in cores. */
export const IDLE_CORES_LIMIT = 0.01

interface EnginePids {
  engine: number[]
  /** The shims of the stack's containers. */
  shims: number[]
}

/** dockerd and containerd, and the containerd shims whose command line names one of these containers. */
export async function enginePids(containerIds: readonly string[]): Promise<EnginePids> {
  const found: EnginePids = {engine: [], shims: []}
  for (const entry of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
    try {
      const args = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0')
      const program = args[0].split('/').at(-1) ?? ''
      if (program === 'dockerd' || program === 'containerd') found.engine.push(Number(entry))
      else if (program.startsWith('containerd-shim') && containerIds.some((id) => args.includes(id))) {
        found.shims.push(Number(entry))
      }
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found
}

/** A process's CPU in ms; with `children`, also that of the children it reaped (a shim reaps every runc exec). */
async function cpuMs(pid: number, children: boolean): Promise<number> {
  try {
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ')
    const own = Number(fields[11]) + Number(fields[12])
    return (own + (children ? Number(fields[13]) + Number(fields[14]) : 0)) * TICK_MS
  } catch {
    return 0
  }
}

interface Reading {
  atMs: number
  containers: number
  shims: number
  engine: number
  machine?: {busy: number; all: number}
}

async function read(ids: readonly string[], pids: EnginePids): Promise<Reading> {
  const sum = (values: Array<number | undefined>) => values.reduce<number>((total, v) => total + (v ?? 0), 0)
  return {
    atMs: performance.now(),
    containers: sum(await Promise.all(ids.map((id) => containerCpuMs(id)))),
    shims: sum(await Promise.all(pids.shims.map((pid) => cpuMs(pid, true)))),
    engine: sum(await Promise.all(pids.engine.map((pid) => cpuMs(pid, false)))),
    machine: await machineCpuMs(),
  }
}

/** Cores used between two readings: engine processes and the whole machine (for the baseline and the window). */
function rates(before: Reading, after: Reading) {
  const wallMs = after.atMs - before.atMs
  const machine =
    before.machine && after.machine
      ? ((after.machine.busy - before.machine.busy) / (after.machine.all - before.machine.all)) * cpus().length
      : undefined
  return {
    containers: (after.containers - before.containers) / wallMs,
    shims: (after.shims - before.shims) / wallMs,
    engine: (after.engine - before.engine) / wallMs,
    machine,
  }
}

export type Baseline = ReturnType<typeof rates>

/** The engine's and the machine's CPU over `seconds` before the stack exists. */
export async function idleBaseline(seconds: number): Promise<Baseline> {
  const pids = await enginePids([])
  const before = await read([], pids)
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
  return rates(before, await read([], pids))
}

/** The running stack's CPU over `seconds`, nothing else done meanwhile. */
export async function measureIdle(
  containerIds: readonly string[],
  baseline: Baseline,
  seconds: number,
): Promise<IdleCpuResult> {
  const pids = await enginePids(containerIds)
  const before = await read(containerIds, pids)
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
  const window = rates(before, await read(containerIds, pids))
  const engine = Math.max(0, window.engine - baseline.engine)
  const r = (value: number) => round(value, 4)
  return {
    seconds,
    stack: r(window.containers + window.shims + engine),
    containers: r(window.containers),
    shims: r(window.shims),
    engine: r(engine),
    machine:
      window.machine === undefined || baseline.machine === undefined ? undefined : r(window.machine - baseline.machine),
    baselineMachine: baseline.machine === undefined ? undefined : r(baseline.machine),
    loadavg: loadavg().map((value) => round(value, 2)),
  }
}

export function idleTargets(idle: IdleCpuResult): TargetResult[] {
  return [
    {
      name: `idle stack CPU over ${idle.seconds} s (containers + shims + engine above baseline)`,
      limit: `<= ${IDLE_CORES_LIMIT} core`,
      value: `${idle.stack} core`,
      pass: idle.stack <= IDLE_CORES_LIMIT,
    },
  ]
}

/** One line for the report and for `--only idle`. */
export function idleLine({idle}: {idle?: IdleCpuResult}): string {
  if (!idle) return '**Idle stack** — not measured in this run.'
  const machine =
    idle.machine === undefined ? '' : `; whole machine ${idle.machine} above a baseline of ${idle.baselineMachine}`
  return (
    `**Idle stack** — ${idle.stack} core over ${idle.seconds} s (target <= ${IDLE_CORES_LIMIT}): containers ` +
    `${idle.containers}, shims ${idle.shims}, dockerd + containerd ${idle.engine} above baseline${machine}; ` +
    `load average ${idle.loadavg.join(' ')}.`
  )
}
