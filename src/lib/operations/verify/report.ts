/** The human rendering of a persistence check's result; --json prints the result object itself. */
import {describeMode} from './teardown.js'
import type {PersistenceResult} from './result.js'

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(2)} s`
}

export function renderReport(result: PersistenceResult): string[] {
  const lines: string[] = ['phase       time        outcome']
  for (const phase of result.phases) {
    lines.push(`${phase.name.padEnd(11)} ${formatDuration(phase.ms).padEnd(11)} ${phase.ok ? 'ok' : 'FAILED'}`)
  }
  lines.push(
    '',
    `visits      ${result.visitsRequested} requested, ${result.attempted} attempted, ${result.acknowledged} acknowledged (${result.concurrency} clients)`,
    `rows        ${count(result.baseline)} before the writes, ${count(result.before)} before teardown, ${count(result.after)} after the relaunch; ${describeMissing(result)}`,
  )
  if (result.checksumBefore !== null) {
    const same = result.checksumAfter === result.checksumBefore
    lines.push(
      `checksum    ${result.checksumBefore} → ${result.checksumAfter ?? '?'}${result.checksumAfter === null ? '' : same ? ' (unchanged)' : ' (CHANGED)'}`,
    )
  }
  lines.push(`volume      ${describeVolume(result.volume)}`)
  if (result.kill) {
    const {kill} = result
    lines.push(
      `kill        SIGKILL after ${kill.acknowledgedBeforeKill} acknowledged, with ${kill.inFlightAtKill} writes in flight; ${kill.failedAfterKill} attempts failed; db exit code ${kill.dbExitCode ?? '?'}`,
    )
  }
  if (result.durability) {
    const d = result.durability
    lines.push(
      `durability  fsync ${d.fsync}, synchronous_commit ${d.synchronousCommit}, full_page_writes ${d.fullPageWrites}`,
      `data        ${d.dataDirectory} on ${d.storage}`,
    )
  }
  if (result.reasons.length > 0) lines.push('', 'problems:', ...result.reasons.map((reason) => `  - ${reason}`))
  lines.push('', verdict(result))
  return lines
}

export function verdict(result: PersistenceResult): string {
  const how =
    result.mode === 'drain'
      ? 'a node drain'
      : result.mode === 'failover'
        ? 'a failover'
        : result.mode === 'pause'
          ? "a failover from a paused leader's node"
          : result.mode === 'partition'
            ? "a failover from a leader's node cut from the others"
            : result.mode === 'switchover'
              ? 'a planned switchover'
              : describeMode(result.mode)
  if (result.passed) {
    return `PASSED: all ${result.acknowledged} acknowledged visits survived ${how}, the ${result.before ?? 0} rows from before teardown are unchanged, durability settings and storage are sound`
  }
  const problems = result.reasons.length === 1 ? '1 problem' : `${result.reasons.length} problems`
  return `FAILED: ${problems}; the data is not proven to survive ${how}`
}

function describeVolume(volume: PersistenceResult['volume']): string {
  const kept = volume.removedDuringCheck ? 'REMOVED during the check' : 'kept (never removed)'
  const {systemIdentifierBefore: before, systemIdentifierAfter: after} = volume
  if (before === null || after === null) return `${volume.name} ${kept}`
  const cluster =
    before === after
      ? `same database cluster (system identifier ${before})`
      : `NEW database cluster (system identifier ${before} → ${after})`
  return `${volume.name} ${kept}, ${cluster}`
}

function describeMissing(result: PersistenceResult): string {
  if (result.missingCount === null) return 'NOT VERIFIED: the check stopped before its verify phase'
  const ids =
    result.missing.length > 0
      ? ` (ids ${result.missing.join(', ')}${result.missingCount > result.missing.length ? ', …' : ''})`
      : ''
  return `${result.missingCount} acknowledged missing${ids}`
}

function count(value: number | null): string {
  return value === null ? '?' : String(value)
}
