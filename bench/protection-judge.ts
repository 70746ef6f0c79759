/**
 * The protection step's judgements, without I/O: which visits a restore to a target must hold and must not
 * hold, what a lost volume cost (seconds of acknowledged visits), and what archiving costs the API.
 *
 * Times are ms since the epoch on the host's clock, which the db container shares (one kernel clock), so a
 * write's commit time lies between its send and its acknowledgement as the bench recorded them.
 */
import {median, percentile, round} from './stats.js'

/** One write the bench sent: a visit through the API, or a batch through psql. */
export interface Write {
  /** The ids it added, known once it was acknowledged; empty when no acknowledgement came. */
  ids: readonly number[]
  /** Before the request left (never later). */
  sentAt: number
  /** After its reply was read (never earlier); undefined: failed or never answered. */
  ackAt?: number
}

/**
 * Where a restore stopped, as a window of the bench's clock. A time target is one instant (from = to = the
 * target). A name or LSN was taken from `from` to `to` with the writers paused, so no write overlaps it.
 */
export interface Boundary {
  from: number
  to: number
}

export interface TargetJudgement {
  /** Ids that had to be restored (acknowledged at or before the boundary's start). */
  expected: number
  /** Ids of writes in flight across the boundary: either way is right (a time target's straddlers). */
  eitherWay: number
  /** Expected ids the restore lacks. */
  missing: number[]
  /** Ids present that must not be: sent after the boundary, or never written by the bench at all. */
  extra: number[]
  exact: boolean
}

/** The writes' kind relative to a boundary: before it (must be present), after it (must be absent), or across it. */
export function sideOf(write: Write, boundary: Boundary): 'before' | 'after' | 'across' {
  if (write.ackAt !== undefined && write.ackAt <= boundary.from) return 'before'
  if (write.sentAt > boundary.to) return 'after'
  return 'across'
}

/**
 * A restore to `boundary` holds every id acknowledged by then and none sent after it; ids of writes across it
 * may go either way. Any present id no write produced is extra too (invented).
 */
export function judgeTarget(writes: readonly Write[], boundary: Boundary, present: readonly number[]): TargetJudgement {
  const must = new Set<number>()
  const mustNot = new Set<number>()
  let eitherWay = 0
  const known = new Set<number>()
  for (const write of writes) {
    const side = sideOf(write, boundary)
    for (const id of write.ids) {
      known.add(id)
      if (side === 'before') must.add(id)
      else if (side === 'after') mustNot.add(id)
      else eitherWay++
    }
  }
  const presentSet = new Set(present)
  const missing = [...must].filter((id) => !presentSet.has(id)).sort((a, b) => a - b)
  const extra = present.filter((id) => mustNot.has(id) || !known.has(id)).sort((a, b) => a - b)
  return {expected: must.size, eitherWay, missing, extra, exact: missing.length === 0 && extra.length === 0}
}

export interface RecoveryPointJudgement {
  acknowledged: number
  /** Acknowledged ids the restore lacks. */
  lost: number
  /** From the oldest lost acknowledgement to the loss, in s; 0 when nothing acknowledged was lost. */
  lostSeconds: number
  /** Writes without an acknowledgement (in flight at the loss): their ids are unknown, each may be back. */
  unacknowledged: number
  /** Present ids the bench never learned of, beyond what the unacknowledged writes may account for. */
  invented: number
  pass: boolean
}

/**
 * A lost volume brought back: the acknowledged visits missing and how old the oldest of them was at the
 * loss. Present ids no acknowledged write returned are allowed up to one per unacknowledged visit write (a
 * request in flight at the loss may have committed and been archived); more are invented. Passes when nothing
 * was invented and no acknowledged visit older than `limitSeconds` was lost.
 */
export function judgeRecoveryPoint(
  writes: readonly Write[],
  lossAt: number,
  present: readonly number[],
  limitSeconds: number,
): RecoveryPointJudgement {
  const presentSet = new Set(present)
  const known = new Set<number>()
  let acknowledged = 0
  let lost = 0
  let oldestLost = Number.POSITIVE_INFINITY
  let unacknowledged = 0
  for (const write of writes) {
    if (write.ackAt === undefined) {
      unacknowledged++
      continue
    }
    for (const id of write.ids) {
      known.add(id)
      acknowledged++
      if (presentSet.has(id)) continue
      lost++
      oldestLost = Math.min(oldestLost, write.ackAt)
    }
  }
  const unknown = present.filter((id) => !known.has(id)).length
  const invented = Math.max(0, unknown - unacknowledged)
  const lostSeconds = lost === 0 ? 0 : round(Math.max(0, lossAt - oldestLost) / 1000, 3)
  return {
    acknowledged,
    lost,
    lostSeconds,
    unacknowledged,
    invented,
    pass: invented === 0 && lostSeconds <= limitSeconds,
  }
}

export interface ArchivingCost {
  /** req/s of each round, in the order run. */
  on: number[]
  off: number[]
  medianOn: number
  medianOff: number
  /**
   * The median of the rounds' own costs (1 − on/off of each pair, run back to back, so drift between rounds
   * cancels): the share of req/s archiving costs (negative: archiving was faster).
   */
  cost: number
  pairCosts: number[]
  /** The middle half of the pair costs (75th − 25th percentile), in the same unit: the noise. */
  spread: number
}

export function archivingCost(on: readonly number[], off: readonly number[]): ArchivingCost {
  const medianOn = round(median(on), 1)
  const medianOff = round(median(off), 1)
  const pairCosts = on.slice(0, off.length).map((rps, i) => round(1 - rps / off[i], 4))
  const spread = round(percentile(pairCosts, 0.75) - percentile(pairCosts, 0.25), 4)
  return {on: [...on], off: [...off], medianOn, medianOff, cost: round(median(pairCosts), 4), pairCosts, spread}
}

/**
 * Met only when the rounds can tell: the median pair costs at most `limit`, and either the pairs' middle half
 * spans no more than `limit` itself or no pair at all shows archiving costing more than `limit` (noise that
 * only ever favours archiving cannot hide a cost above the limit: a quiet run's pairs went from -18 % to
 * +3.6 %, a 7-point spread). Otherwise (other work on the machine) the target is unmet as inconclusive: noise
 * larger than the effect proves neither side.
 */
export function judgeCost(cost: ArchivingCost, limit: number): {pass: boolean; conclusive: boolean} {
  const conclusive = cost.spread <= limit || (cost.pairCosts.length > 0 && Math.max(...cost.pairCosts) <= limit)
  return {conclusive, pass: conclusive && cost.cost <= limit}
}
