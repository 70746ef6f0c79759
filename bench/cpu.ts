/**
 * Where the CPU went during one measurement, in cores (1.0 = one core busy for the whole run): the app and
 * db containers (their cgroups), Docker's userland port proxy for the published port, this process (the load
 * generator), and everything else on the machine. "Other" is what other work took from the same cores, the
 * honest measure of how noisy a run was. Linux only; parts that cannot be read are left out.
 */
import {readdir, readFile} from 'node:fs/promises'
import {cpus} from 'node:os'

export interface CpuShares {
  app?: number
  db?: number
  proxy?: number
  loadGenerator: number
  /** Busy time of the whole machine not accounted to the parts above. */
  other?: number
  machine?: number
}

interface Snapshot {
  atNs: bigint
  app?: number
  db?: number
  proxy?: number
  self: NodeJS.CpuUsage
  machine?: {busy: number; all: number}
}

/** Cgroup CPU time in ms of a container: cgroup v1 (cpuacct) or v2 (cpu.stat). */
export async function containerCpuMs(id: string | undefined): Promise<number | undefined> {
  if (!id) return undefined
  try {
    return Number(await readFile(`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, 'utf8')) / 1e6
  } catch {
    try {
      const stat = await readFile(`/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`, 'utf8')
      const usec = /^usage_usec (\d+)/m.exec(stat)
      return usec ? Number(usec[1]) / 1e3 : undefined
    } catch {
      return undefined
    }
  }
}

export const TICK_MS = 10 // USER_HZ is 100 on Linux

export async function processCpuMs(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined
  try {
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ')
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS
  } catch {
    return undefined
  }
}

export async function machineCpuMs(): Promise<{busy: number; all: number} | undefined> {
  try {
    const fields = (await readFile('/proc/stat', 'utf8')).split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
    const all = fields.reduce((sum, value) => sum + value, 0)
    return {busy: (all - fields[3] - fields[4]) * TICK_MS, all: all * TICK_MS}
  } catch {
    return undefined
  }
}

/** The docker-proxy process that publishes the given host port, if the engine uses the userland proxy. */
export async function findPortProxy(port: number): Promise<number | undefined> {
  let entries: string[]
  try {
    entries = await readdir('/proc')
  } catch {
    return undefined
  }
  for (const entry of entries.filter((name) => /^\d+$/.test(name))) {
    try {
      const args = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0')
      if (args[0].endsWith('docker-proxy') && args[args.indexOf('-host-port') + 1] === String(port)) {
        return Number(entry)
      }
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return undefined
}

export interface CpuTargets {
  app?: string
  db?: string
  proxyPid?: number
}

async function snapshot(targets: CpuTargets): Promise<Snapshot> {
  return {
    atNs: process.hrtime.bigint(),
    app: await containerCpuMs(targets.app),
    db: await containerCpuMs(targets.db),
    proxy: await processCpuMs(targets.proxyPid),
    self: process.cpuUsage(),
    machine: await machineCpuMs(),
  }
}

function cores(before: number | undefined, after: number | undefined, wallMs: number): number | undefined {
  return before === undefined || after === undefined ? undefined : Math.round(((after - before) / wallMs) * 100) / 100
}

/** Runs `work` and reports the CPU shares spent while it ran. */
export async function withCpuShares<T>(targets: CpuTargets, work: () => Promise<T>): Promise<[T, CpuShares]> {
  const before = await snapshot(targets)
  const result = await work()
  const after = await snapshot(targets)
  const wallMs = Number(after.atNs - before.atNs) / 1e6
  const self = process.cpuUsage(before.self)
  const shares: CpuShares = {
    app: cores(before.app, after.app, wallMs),
    db: cores(before.db, after.db, wallMs),
    proxy: cores(before.proxy, after.proxy, wallMs),
    loadGenerator: cores(0, (self.user + self.system) / 1000, wallMs) ?? 0,
  }
  if (before.machine && after.machine) {
    const machineCores =
      ((after.machine.busy - before.machine.busy) / (after.machine.all - before.machine.all)) * cpus().length
    const ours = (shares.app ?? 0) + (shares.db ?? 0) + (shares.proxy ?? 0) + shares.loadGenerator
    shares.machine = Math.round(machineCores * 100) / 100
    shares.other = Math.max(0, Math.round((machineCores - ours) * 100) / 100)
  }
  return [result, shares]
}
