/**
 * One run as text, without I/O: the console summary and the generated sections of BENCHMARKS.md (the
 * latest run in full, and one history row per run, kept between HTML comment markers).
 */
import type {BenchResults, LoadResult, TargetResult} from './results.js'
import {ceilingSection} from './ceiling-report.js'
import {idleLine} from './idle.js'
import {startupLine} from './startup.js'
import {round} from './stats.js'
import {upSeries} from './up-report.js'
import {
  exactnessSection,
  LOAD_HEADER,
  HISTORY_EXTRA_HEADER,
  historyCells,
  plainInsertSection,
  robustnessSection,
} from './markdown-robustness.js'

const HISTORY_ROWS = 30
const MB = 1e6

function table(header: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}

export function verdict(pass: boolean): string {
  return pass ? 'PASS' : 'FAIL'
}

export function targetsTable(targets: readonly TargetResult[]): string {
  return table(
    ['target', 'limit', 'measured', 'result'],
    targets.map((t) => [t.name, t.limit, t.value, `**${verdict(t.pass)}**`]),
  )
}

function share(value: number | undefined): string | number {
  return value ?? '–'
}

function loadRow(label: string | number, r: LoadResult): Array<string | number> {
  const cpu = r.cpu
  return [
    label,
    r.rps,
    r.p50,
    r.p99,
    r.requests,
    r.non2xx,
    r.errors,
    `${share(cpu?.app)} / ${share(cpu?.db)} / ${share(cpu?.proxy)} / ${share(cpu?.loadGenerator)}`,
    share(cpu?.other),
  ]
}

export function runStamp(results: BenchResults): string {
  return results.startedAt.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-')
}

const PORT_PATHS = {
  'docker-proxy': 'through Docker’s userland proxy (a docker-proxy process)',
  'kernel NAT': 'through the kernel’s NAT rules (dockerd --userland-proxy=false, no docker-proxy process)',
}

function machineLine({machine: m, portPath}: BenchResults): string {
  return (
    `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}, ` +
    `Docker Engine ${m.engine} (API ${m.engineApi}), Compose ${m.compose}. Load average at start ${m.loadAtStart}, ` +
    `${m.otherContainersAtStart} other containers running.` +
    (portPath ? ` The published port reaches the app ${PORT_PATHS[portPath]}.` : '')
  )
}

function apiSection(results: BenchResults): string {
  const seconds = Math.round(results.api[0]?.seconds ?? 0)
  return [
    `**API** — \`GET /\` with autocannon on 127.0.0.1, keep-alive, about ${seconds} s per level after a warm-up. ` +
      'CPU in cores (2.0 = both cores busy): the app and db containers, Docker’s port proxy, this process ' +
      '(autocannon), and the rest of the machine (other work, and kernel time not charged to a process):',
    '',
    table(
      ['connections', ...LOAD_HEADER],
      results.api.map((r) => loadRow(r.connections, r)),
    ),
  ].join('\n')
}

function pgbenchSection(results: BenchResults): string {
  const header = ['clients', 'TPS', 'avg latency ms', 'failed', 'API req/s', 'API / pgbench', 'CPU db', 'CPU other']
  const rows = results.pgbench.map((p) => {
    const api = results.api.find((r) => r.connections === p.requestedClients)
    const ratio = api ? round(api.rps / p.tps, 2) : '–'
    const label = p.clients === p.requestedClients ? p.clients : `${p.clients} (asked ${p.requestedClients})`
    const cpu = [share(p.cpu?.db), share(p.cpu?.other)]
    return [label, round(p.tps, 0), p.latencyAvgMs, p.failed, api?.rps ?? '–', ratio, ...cpu, p.note ?? '']
  })
  return [
    '**pgbench** — `RECORD_VISIT_SQL` in the db container, `-n -j 2 -M prepared`, TCP 127.0.0.1, durable settings:',
    '',
    table([...header, 'note'], rows),
  ].join('\n')
}

function scaleSection({scale}: BenchResults): string {
  return [
    `**Scale** — 32 connections on a freshly emptied table, then after growing it to ${scale.rows.toLocaleString('en-US')} ` +
      `rows (${scale.growSeconds} s incl. VACUUM ANALYZE and CHECKPOINT; counter exact: ${scale.counterExact ? 'yes' : 'NO'}):`,
    '',
    table(['table', ...LOAD_HEADER], [loadRow('empty', scale.empty), loadRow(`${scale.rows} rows`, scale.grown)]),
  ].join('\n')
}

function backupRestoreLine({backupRestore: b}: BenchResults): string {
  if (!b) return '**Backup / restore** — not measured in this run.'
  return (
    `**Backup / restore** — ${b.visits.toLocaleString('en-US')} visits: \`stackctl volume backup\` ` +
    `${round(b.backupMs / 1000, 1)} s (dump ${round(b.dumpBytes / MB, 1)} MB), \`stackctl volume restore --force\` ` +
    `${round(b.restoreMs / 1000, 1)} s; counts exact: ${b.exact ? 'yes' : 'NO'}.`
  )
}

export function upgradeLine({upgrade: u}: Pick<BenchResults, 'upgrade'>): string {
  if (!u) return '**Upgrade** — not measured in this run.'
  const steps = Object.entries(u.steps)
    .map(([step, seconds]) => `${step} ${seconds}`)
    .join(', ')
  return (
    `**Upgrade** — ${u.visits.toLocaleString('en-US')} visits: \`stackctl db upgrade --to ${u.to}\` from PostgreSQL ` +
    `${u.from} ${round(u.upgradeMs / 1000, 1)} s (s per step: ${steps}); counts exact: ${u.exact ? 'yes' : 'NO'}.`
  )
}

function cliSection({cli}: BenchResults): string {
  const series = [...upSeries(cli), cli.version, cli.nodeBaseline]
  return [
    '**CLI** — wall time from spawn to exit:',
    '',
    table(
      ['command', 'median ms', 'runs ms'],
      series.map((s) => [s.command, s.medianMs, s.runsMs.join(', ')]),
    ),
    '',
    `Cold \`stackctl up\` after \`stackctl down\` (${cli.downMs} ms), ${cli.coldUp.totalMs} ms in all; ms from start: ` +
      cli.coldUp.milestones.map((m) => `${m.name} ${m.atMs}`).join(' → ') +
      '.',
  ].join('\n')
}

function imageLine({image}: BenchResults): string {
  return (
    `**Image** — ${image.appImage} ${round(image.appBytes / MB, 1)} MB, ${image.baseImage} ` +
    `${round(image.baseBytes / MB, 1)} MB: adds ${round(image.addedBytes / MB, 2)} MB.`
  )
}

export function renderLatest(results: BenchResults, targets: readonly TargetResult[], resultsFile: string): string {
  const met = targets.filter((t) => t.pass).length
  return [
    `Run of ${results.startedAt} (${results.durationSeconds} s), raw numbers in \`${resultsFile}\`: ` +
      `${met} of ${targets.length} targets met.`,
    machineLine(results),
    targetsTable(targets),
    apiSection(results),
    ceilingSection(results),
    pgbenchSection(results),
    plainInsertSection(results),
    exactnessSection(results),
    robustnessSection(results),
    scaleSection(results),
    backupRestoreLine(results),
    upgradeLine(results),
    startupLine(results),
    idleLine(results),
    cliSection(results),
    imageLine(results),
  ]
    .filter(Boolean)
    .join('\n\n')
}

export const HISTORY_HEADER = [
  'run',
  'API req/s @32',
  'p99 @32 ms',
  'pgbench TPS @32',
  'API/pgbench',
  'p50 1M/empty',
  'up/compose',
  'version/node',
  'image +MB',
  'targets met',
  'CPU other @32',
  ...HISTORY_EXTRA_HEADER,
]

export function historyRow(results: BenchResults, targets: readonly TargetResult[]): string {
  const api = results.api.find((r) => r.connections === 32)
  const pg = results.pgbench.find((r) => r.requestedClients === 32)
  const {cli, scale} = results
  const cells = [
    results.startedAt.replace(/\.\d+Z$/, 'Z'),
    api?.rps ?? '–',
    api?.p99 ?? '–',
    pg ? round(pg.tps, 0) : '–',
    api && pg ? round(api.rps / pg.tps, 2) : '–',
    round(scale.grown.p50 / scale.empty.p50, 2),
    round(cli.upRunning.medianMs / cli.composeUp.medianMs, 2),
    round(cli.version.medianMs / cli.nodeBaseline.medianMs, 2),
    round(results.image.addedBytes / MB, 2),
    `${targets.filter((t) => t.pass).length}/${targets.length}`,
    share(api?.cpu?.other),
    ...historyCells(results),
  ]
  return `| ${cells.join(' | ')} |`
}

function markers(name: string): [string, string] {
  return [`<!-- bench:${name}:start -->`, `<!-- bench:${name}:end -->`]
}

/** The text between a section's markers, or undefined when the markers are missing. */
export function sectionBody(text: string, name: string): string | undefined {
  const [start, end] = markers(name)
  const from = text.indexOf(start)
  const to = text.indexOf(end)
  if (from === -1 || to === -1 || to < from) return undefined
  return text.slice(from + start.length, to).trim()
}

/** Replaces a section's body, or appends the section when its markers are missing. */
export function replaceSection(text: string, name: string, body: string): string {
  const [start, end] = markers(name)
  const block = `${start}\n${body}\n${end}`
  const from = text.indexOf(start)
  const to = text.indexOf(end)
  if (from === -1 || to === -1 || to < from) return `${text.trimEnd()}\n\n${block}\n`
  return text.slice(0, from) + block + text.slice(to + end.length)
}

/** The history table with the new row first; earlier rows are kept, the oldest dropped past HISTORY_ROWS. */
export function mergeHistory(previousBody: string | undefined, row: string): string {
  const previous = (previousBody ?? '')
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2)
  return [
    `| ${HISTORY_HEADER.join(' | ')} |`,
    `| ${HISTORY_HEADER.map(() => '---').join(' | ')} |`,
    row,
    ...previous.slice(0, HISTORY_ROWS - 1),
  ].join('\n')
}

export function updateBenchmarksText(
  text: string,
  results: BenchResults,
  targets: readonly TargetResult[],
  resultsFile: string,
): string {
  const latest = replaceSection(text, 'latest', renderLatest(results, targets, resultsFile))
  const history = mergeHistory(sectionBody(latest, 'history'), historyRow(results, targets))
  return replaceSection(latest, 'history', history)
}

export function consoleSummary(targets: readonly TargetResult[]): string {
  const width = Math.max(...targets.map((t) => t.name.length))
  return targets.map((t) => `${verdict(t.pass)}  ${t.name.padEnd(width)}  ${t.value}  (target ${t.limit})`).join('\n')
}
