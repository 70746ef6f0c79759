/** The protection step's targets and its "## Protection" section of BENCHMARKS.md, without I/O. */
import {replaceSection} from './markdown.js'
import {judgeCost} from './protection-judge.js'
import {median, round} from './stats.js'
import type {ProtectionResult} from './protection.js'
import type {TargetResult} from './results.js'

export const PROTECTION_LIMITS = {archivingCost: 0.05}

export function protectionTargets(p: ProtectionResult): TargetResult[] {
  const limit = PROTECTION_LIMITS.archivingCost
  const costJudged = judgeCost(p.cost, limit)
  const percent = (share: number) => `${round(share * 100, 1)} %`
  const runs = p.recovery.runs
  const worst = Math.max(...runs.map((r) => r.lostSeconds))
  const invented = runs.reduce((sum, r) => sum + r.invented, 0)
  const targets = p.pointInTime.targets
  const missing = targets.reduce((sum, t) => sum + (t.missing ?? 0), 0)
  const extra = targets.reduce((sum, t) => sum + (t.extra ?? 0), 0)
  const failed = targets.filter((t) => t.error !== undefined).length
  return [
    {
      name: 'WAL archiving cost (API req/s, 32 connections)',
      limit: `≤ ${percent(limit)} (median round); rounds within ${percent(limit)} or none above it; exact totals`,
      value:
        `${percent(p.cost.cost)}, rounds' middle half ${percent(p.cost.spread)}` +
        (costJudged.conclusive ? '' : ': too noisy to judge') +
        (p.cost.exact ? '' : ', totals NOT exact'),
      pass: costJudged.pass && p.cost.exact,
    },
    {
      name: `lost volume: acknowledged visits lost (${runs.length} runs)`,
      limit: `none older than archive_timeout (${p.archiveTimeoutSeconds} s), 0 invented`,
      value: `max ${worst} s, ${invented} invented`,
      pass: runs.length > 0 && runs.every((r) => r.pass),
    },
    {
      name: `exact point in time (${targets.length} targets, ${p.pointInTime.visits} visits)`,
      limit: '0 missing, 0 extra, every restore done',
      value: `${missing} missing, ${extra} extra, ${failed} failed`,
      pass: targets.length > 0 && missing === 0 && extra === 0 && failed === 0,
    },
    {
      name: `backup and lost-volume restore at ${p.scale.visits} visits`,
      limit: 'counts exact',
      value: p.scale.exact ? 'exact' : `restored ${p.scale.restoredVisits}`,
      pass: p.scale.exact,
    },
  ]
}

function table(header: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}

const seconds = (ms: number | undefined) => (ms === undefined ? '–' : round(ms / 1000, 1))

export function protectionSection(p: ProtectionResult, targets: readonly TargetResult[], file: string): string {
  const runs = p.recovery.runs
  const pit = p.pointInTime
  const lost = runs.map((r) => r.lostSeconds)
  const costRounds = p.cost.rounds.map((r, i) => [
    Math.floor(i / 2) + 1,
    r.archiving ? 'on' : 'off',
    r.load.rps,
    r.load.p99,
    r.load.exactness?.exact ? 'yes' : 'NO',
  ])
  return [
    `Run ${p.startedAt.replace(/\.\d+Z$/, 'Z')} (\`npm run bench -- --only protection\`), results in \`${file}\`. ` +
      `Load average ${p.loadavgBefore.join(' / ')} at the start, ${p.loadavgAfter.join(' / ')} at the end ` +
      '(other work shared the machine).',
    '',
    table(
      ['target', 'limit', 'measured', 'result'],
      targets.map((t) => [t.name, t.limit, t.value, `**${t.pass ? 'PASS' : 'FAIL'}**`]),
    ),
    '',
    `**Archiving cost** — \`GET /\` at ${p.cost.connections} connections, ${p.cost.seconds} s per round, a stack that ` +
      'archives (the default) and one made with `--no-wal-archive`, alternated (on-off, off-on, …). Median req/s ' +
      `${round(p.cost.medianOn, 1)} with archiving, ${round(p.cost.medianOff, 1)} without. Each round's own cost (1 − on/off of the ` +
      `pair run back to back): ${p.cost.pairCosts.map((c) => `${round(c * 100, 1)} %`).join(', ')}; the median ` +
      `${round(p.cost.cost * 100, 1)} %, the middle half spanning ${round(p.cost.spread * 100, 1)} points (what ` +
      'other work on the machine did meanwhile: wider than the 5 % judged while some round shows a cost above it, the ' +
      'rounds prove neither side).',
    '',
    table(['round', 'archiving', 'req/s', 'p99 ms', 'totals exact'], costRounds),
    '',
    `**Recovery point** — ${p.recovery.connections} API writers for ${p.recovery.writeSeconds} s, then the db ` +
      'container removed by force and its data volume deleted while they wrote, then `db restore --latest`. ' +
      'Lost: acknowledged visits missing afterwards, and the time from the oldest of them to the loss. ' +
      `Median ${median(lost)} s, max ${Math.max(...lost)} s; restore median ${seconds(median(runs.map((r) => r.restoreMs)))} s.`,
    '',
    table(
      ['run', 'acknowledged in the run', 'lost', 'lost s', 'unanswered', 'invented', 'restore s'],
      runs.map((r, i) => [i + 1, r.written, r.lost, r.lostSeconds, r.unacknowledged, r.invented, seconds(r.restoreMs)]),
    ),
    '',
    `**Exact point in time** — ${pit.visits} visits written over ${pit.spanSeconds} s: ${pit.apiVisits} through the ` +
      `API (4 writers) and ${pit.batchVisits} in ${pit.batches} psql batches (one a second, one transaction each, ` +
      'the counter bumped with them). Names (`pg_create_restore_point`) and LSNs were taken with the writers ' +
      'paused; times were drawn at random within the span. ' +
      `The ${pit.visitsBefore} visits already in the table from the steps before are expected by every target ` +
      'too. Restored newest first, each into a new volume (the ' +
      'old one deleted with `db prune-old --force`). Expected: every visit acknowledged by the target; absent: ' +
      'every visit sent after it; a write sent before a time target and acknowledged after it may go either way. ' +
      `Least free disk between restores: ${pit.minFreeGB} GB.`,
    '',
    table(
      ['kind', 'target', 's in', 'expected', 'either way', 'missing', 'extra', 'restore s'],
      pit.targets.map((t) => [
        t.kind,
        `\`${t.value}\``,
        round(t.atMs / 1000, 1),
        t.expected ?? '–',
        t.eitherWay ?? '–',
        t.error === undefined ? (t.missing ?? '–') : `failed: ${t.error.split('\n')[0]}`,
        t.extra ?? '–',
        seconds(t.restoreMs),
      ]),
    ),
    '',
    `**At ${p.scale.visits} visits** — \`snapshot create\` (a full pgBackRest backup, ${round(p.scale.backupBytes / 1e6, 1)} MB) ` +
      `took ${seconds(p.scale.backupMs)} s; after losing the volume, \`db restore --latest\` took ` +
      `${seconds(p.scale.restoreMs)} s and brought back ${p.scale.restoredVisits} visits (wall time from spawn to exit).`,
  ].join('\n')
}

/** BENCHMARKS.md with the protection section's body replaced, or the section (heading and markers) appended. */
export function updateProtectionText(text: string, body: string): string {
  const marked = text.includes('<!-- bench:protection:start -->')
  return replaceSection(marked ? text : `${text.trimEnd()}\n\n## Protection\n`, 'protection', body)
}
