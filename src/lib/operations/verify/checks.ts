/**
 * What the numbers must say, as pure functions of what was written and what the database reports: every
 * acknowledged id present, the rows from before teardown unchanged, the totals adding up, the same cluster.
 */
import type {TeardownMode} from './options.js'
import {MISSING_SHOWN} from './result.js'
import type {Snapshot} from './sql.js'
import {plural} from '../../cli/ui/plural.js'

/** Before teardown, after a clean run of writes: the database holds exactly baseline + acknowledged. */
export function snapshotProblems(baseline: Snapshot, snapshot: Snapshot, acknowledged: number): string[] {
  const expected = baseline.total + acknowledged
  if (snapshot.total === expected) return []
  return [
    `before teardown the database held ${plural(snapshot.total, 'visit')}, expected ${expected} (${baseline.total} before + ${acknowledged} acknowledged)`,
  ]
}

export interface Verification {
  mode: TeardownMode
  baseline: Snapshot
  /** The rows that must be unchanged: the snapshot before teardown (kill mode: the baseline). */
  reference: Snapshot
  written: {attempted: number; acknowledged: number}
  /** The whole table after the relaunch, and only the rows up to reference.maxId. */
  after: Snapshot
  old: Snapshot
  missing: readonly number[]
  systemIdentifierBefore: string
  systemIdentifierAfter: string
}

export function verificationProblems(v: Verification): string[] {
  const problems: string[] = []
  if (v.systemIdentifierAfter !== v.systemIdentifierBefore) {
    problems.push(
      `the database was initialised anew (system identifier ${v.systemIdentifierBefore} → ${v.systemIdentifierAfter}): its data directory is not the one from before teardown`,
    )
  }
  problems.push(...missingProblems(v.missing, v.written.acknowledged))
  if (v.old.checksum !== v.reference.checksum) {
    problems.push(
      `the ${v.reference.total} rows up to id ${v.reference.maxId} that existed before teardown changed: now ${v.old.total} rows, checksum ${v.reference.checksum} → ${v.old.checksum}`,
    )
  }
  if (v.mode === 'kill') {
    // A commit can succeed while its reply is lost: more rows than acknowledgements is fine, more than attempts is not.
    const fresh = v.after.total - v.baseline.total
    if (fresh < v.written.acknowledged || fresh > v.written.attempted) {
      problems.push(
        `after the kill the database holds ${fresh} new visits; expected at least the ${v.written.acknowledged} acknowledged and at most the ${v.written.attempted} attempted`,
      )
    }
  } else if (v.after.total !== v.reference.total) {
    problems.push(
      `after the relaunch the database holds ${plural(v.after.total, 'visit')}, ${v.reference.total} before teardown`,
    )
  }
  return problems
}

/** The acknowledged ids the database no longer has, in the same words whichever the target. */
export function missingProblems(missing: readonly number[], acknowledged: number): string[] {
  if (missing.length === 0) return []
  const sorted = [...missing].sort((a, b) => a - b)
  const shown = sorted.slice(0, MISSING_SHOWN).join(', ')
  const more = missing.length > MISSING_SHOWN ? `, … ${missing.length - MISSING_SHOWN} more` : ''
  return [
    `${missing.length} of ${acknowledged} acknowledged visits are missing after the relaunch: ids ${shown}${more}`,
  ]
}
