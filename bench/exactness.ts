/**
 * Are the totals the API reported exact? From every reply of a load run (when its request was sent, when
 * its reply arrived, the total it reported) and the table afterwards:
 * - monotonic: no reply reports less than a reply that had arrived before its own request was sent;
 * - unique: no two visits report the same total;
 * - final: after the run, one more visit reports exactly count(*), and the counter's sum equals count(*).
 * Pure, apart from the final check's two reads.
 */
import type {Psql} from '../src/lib/operations/db/psql.js'
import {counts} from './scale.js'

export interface Reply {
  /** ms on one clock: the request's send time (never later than the real one) and the reply's arrival. */
  sentAt: number
  receivedAt: number
  total: number
}

export interface ExactnessResult {
  /** 200 replies whose total was read. */
  replies: number
  /** Replies that reported less than a reply that had arrived before they were sent. */
  monotonicViolations: number
  duplicateTotals: number
  /** The total reported by one visit after the run, count(*) and sum(counter) read after it. */
  finalTotal: number
  rows: number
  counted: number
  exact: boolean
}

/** Counts replies that report less than the largest total of the replies that arrived before they were sent. */
export function countMonotonicViolations(replies: readonly Reply[]): number {
  const byArrival = [...replies].sort((a, b) => a.receivedAt - b.receivedAt)
  const maxSoFar: number[] = []
  for (const reply of byArrival) maxSoFar.push(Math.max(maxSoFar.at(-1) ?? -Infinity, reply.total))
  let violations = 0
  for (const reply of replies) {
    // The number of replies that arrived strictly before this one was sent.
    let low = 0
    let high = byArrival.length
    while (low < high) {
      const middle = (low + high) >> 1
      if (byArrival[middle].receivedAt < reply.sentAt) low = middle + 1
      else high = middle
    }
    if (low > 0 && maxSoFar[low - 1] > reply.total) violations++
  }
  return violations
}

export function countDuplicateTotals(replies: readonly Reply[]): number {
  return replies.length - new Set(replies.map((r) => r.total)).size
}

export function judgeExactness(
  replies: readonly Reply[],
  final: {finalTotal: number; rows: number; counted: number},
): ExactnessResult {
  const monotonicViolations = countMonotonicViolations(replies)
  const duplicateTotals = countDuplicateTotals(replies)
  return {
    replies: replies.length,
    monotonicViolations,
    duplicateTotals,
    ...final,
    exact:
      monotonicViolations === 0 &&
      duplicateTotals === 0 &&
      final.finalTotal === final.rows &&
      final.counted === final.rows,
  }
}

/**
 * Requests the load generator gave up on when its time ran out may still be on their way to the API (on a
 * busy machine, a whole queue of them): wait until count(*) stops changing, so that the final visit is the
 * only one in its batch, then one more visit, then count(*) and the counter's sum in one snapshot.
 */
const QUIET_MS = 500
const QUIET_DEADLINE_MS = 15_000

export async function finalCounts(
  psql: Psql,
  url: string,
): Promise<{finalTotal: number; rows: number; counted: number}> {
  const deadline = Date.now() + QUIET_DEADLINE_MS
  let last = (await counts(psql)).rows
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, QUIET_MS))
    const now = (await counts(psql)).rows
    if (now === last || Date.now() > deadline) break
    last = now
  }
  const response = await fetch(`${url}/`, {signal: AbortSignal.timeout(30_000)})
  if (response.status !== 200) throw new Error(`GET / after the load answered ${response.status}`)
  const finalTotal = ((await response.json()) as {visits: number}).visits
  return {finalTotal, ...(await counts(psql))}
}
