/**
 * The write outage of a fault, as users feel it (issue 26): the longest time after the fault's start with no
 * write acknowledged, over all clients. Every outcome is timed by its completion; the gaps measured are from the
 * fault's start to the first acknowledgement after it, between consecutive acknowledgements, and from the last
 * one to the moment the writer stopped (writes failing until then). Answers arriving after the stop (requests
 * still in flight) close a gap but never open one: no new write could be acknowledged then. With many clients
 * one client's failure is often followed at once by another's acknowledgement (a write already past the
 * database) while the rest hang: counting from the first failure to the next acknowledgement reported 0.001 s
 * for a kill-mode failover that held writes for ~20 s. Pure.
 */
export interface WriteOutcome {
  /** When the answer (acknowledgement or failure) arrived, in ms. */
  atMs: number
  ok: boolean
}

/**
 * Seconds of the longest stretch from `faultAtMs` to `stoppedAtMs` (the writer's stop; the last outcome when
 * not given) with no write acknowledged; null when none was acknowledged after the fault.
 */
export function writeOutage(outcomes: readonly WriteOutcome[], faultAtMs: number, stoppedAtMs?: number): number | null {
  const after = outcomes.filter((o) => o.atMs >= faultAtMs)
  const acks = after
    .filter((o) => o.ok)
    .map((o) => o.atMs)
    .sort((a, b) => a - b)
  if (acks.length === 0) return null
  const end = stoppedAtMs ?? Math.max(...after.map((o) => o.atMs))
  let longest = 0
  let previous = faultAtMs
  for (const at of [...acks, end]) {
    longest = Math.max(longest, at - previous)
    previous = Math.max(previous, at)
  }
  return longest / 1000
}
