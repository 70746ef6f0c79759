/**
 * Which process a pid names, beyond the number: the kernel reuses pids, so a lock that records only a pid can
 * be blocked forever by an unrelated process that got the same number. On Linux a process is identified by its
 * start time (clock ticks since boot, /proc/<pid>/stat field 22) together with the boot it started in
 * (/proc/sys/kernel/random/boot_id). Elsewhere there is no identity beyond the pid.
 */
import {readFileSync} from 'node:fs'

export interface ProcessIdentity {
  bootId: string
  startTicks: number
}

/** Field 22 of a /proc/<pid>/stat line. The command name (field 2) may hold spaces and parentheses: skip past its last ')'. */
export function startTicksFromStat(stat: string): number | undefined {
  const fields = stat
    .slice(stat.lastIndexOf(')') + 1)
    .trim()
    .split(/\s+/)
  // After the name come field 3 (state) onwards, so field 22 is the 20th.
  const value = Number(fields[19])
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined
}

/** The identity of a running process, or undefined when it is gone or /proc cannot tell. */
export function processIdentity(pid: number): ProcessIdentity | undefined {
  try {
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
    const startTicks = startTicksFromStat(readFileSync(`/proc/${pid}/stat`, 'utf8'))
    return bootId && startTicks !== undefined ? {bootId, startTicks} : undefined
  } catch {
    return undefined
  }
}
