/**
 * The HA step (bench/ha.ts) as data and text, without I/O: its result, the targets, and BENCHMARKS.md's "## HA"
 * section. The fault runs are read in ha-runs.ts, the memory rows in ha-memory.ts.
 */
import type {FaultRun, FaultSummary, HaFault} from './ha-runs.js'
import type {HaMemory} from './ha-memory.js'
import {replaceSection} from './markdown.js'
import type {LoadResult, TargetResult} from './results.js'
import {round} from './stats.js'

export const HA_LIMITS = {outageP95Seconds: 30, memoryBytes: 4 * 1024 ** 3}

export interface HaThroughput {
  connections: number
  /** The single-db swarm stack, then the same stack seeded to 3 members with synchronous replication. */
  single: LoadResult
  ha: LoadResult
  /** ha.rps / single.rps */
  ratio: number
}

export interface HaResult {
  startedAt: string
  finishedAt: string
  cores: number
  loadAtStart: number[]
  loadAtEnd: number[]
  nodes: number
  runsPerFault: number
  faults: HaFault[]
  throughput: HaThroughput
  /** Measured once the HA stack had served the load and settled. */
  memory: HaMemory
  runs: FaultRun[]
  summaries: FaultSummary[]
}

const GiB = 1024 ** 3
const gib = (bytes: number) => `${round(bytes / GiB, 2)} GiB`
const mib = (bytes: number) => `${round(bytes / 1024 ** 2, 0)} MiB`

export function haTargets(result: HaResult): TargetResult[] {
  const {summaries, runs} = result
  const n = runs.length
  const lost = summaries.reduce((sum, s) => sum + s.lost, 0)
  const unchecked = summaries.reduce((sum, s) => sum + s.unchecked, 0)
  const leaders = runs.map((r) => r.maxLeadersSeen).filter((x): x is number => x !== null)
  const rejoined = summaries.reduce((sum, s) => sum + s.rejoined, 0)
  const outages = summaries.map((s) => `${s.fault} ${s.outage ? `${s.outage.p95} s` : '–'}`)
  const faults = summaries.map((s) => s.fault).join(', ')
  const exact = [result.throughput.single, result.throughput.ha].every((l) => l.exactness?.exact === true)
  return [
    {
      name: `acknowledged visits lost (${faults}: ${n} runs)`,
      limit: '0 in every run',
      value: `${lost} lost${unchecked > 0 ? `, ${unchecked} run(s) never reached the set check` : ''}`,
      pass: n > 0 && lost === 0 && unchecked === 0,
    },
    {
      name: 'leaders accepting writes at once',
      limit: 'never more than 1',
      value:
        (leaders.length === 0 ? 'not reported' : `at most ${Math.max(...leaders)}`) +
        (leaders.length < n ? ` (${n - leaders.length} of ${n} runs did not report it)` : ''),
      pass: n > 0 && leaders.length === n && Math.max(...leaders) <= 1,
    },
    {
      name: 'old leader rejoined as a replica',
      limit: `${n} of ${n}`,
      value: `${rejoined} of ${n}`,
      pass: n > 0 && rejoined === n,
    },
    {
      name: 'write outage p95 per fault',
      limit: `≤ ${HA_LIMITS.outageP95Seconds} s`,
      value: outages.join(', '),
      pass:
        summaries.length > 0 && summaries.every((s) => s.outage !== null && s.outage.p95 <= HA_LIMITS.outageP95Seconds),
    },
    {
      name: 'fault runs passed',
      limit: 'every run',
      value: `${runs.filter((r) => r.passed).length} of ${n}`,
      pass: n > 0 && runs.every((r) => r.passed),
    },
    {
      name: `memory of the whole ${result.nodes}-node HA stack (its containers)`,
      limit: `≤ ${gib(HA_LIMITS.memoryBytes)}`,
      value: `${gib(result.memory.stackBytes)} (${result.memory.containers.length} containers)`,
      pass: result.memory.containers.length > 0 && result.memory.stackBytes <= HA_LIMITS.memoryBytes,
    },
    {
      name: `API req/s at ${result.throughput.connections} connections, totals exact (single db, HA)`,
      limit: 'exact (the ratio is reported, not judged)',
      value: `${result.throughput.single.rps} → ${result.throughput.ha.rps} req/s (× ${result.throughput.ratio})`,
      pass: exact,
    },
  ]
}

function table(header: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}

const loads = (values: readonly number[]) => values.map((v) => v.toFixed(2)).join(' / ')
const dash = (value: number | string | null | undefined) => (value === null || value === undefined ? '–' : value)

/** The body of BENCHMARKS.md's "## HA" section (between its markers). */
export function haSection(result: HaResult, targets: readonly TargetResult[], file: string): string {
  const {throughput: t, memory: m} = result
  const loadRow = (what: string, l: LoadResult) => [
    what,
    l.rps,
    l.p50,
    l.p99,
    l.non2xx + l.errors + l.timeouts,
    l.loadBefore,
    l.exactness?.exact ? 'yes' : '**no**',
  ]
  const failures = result.summaries.flatMap((s) =>
    s.failures.map((f) => `- ${s.fault} run ${f.run}: ${f.reason.split('\n')[0]}`),
  )
  return [
    `Run ${result.startedAt.replace(/\.\d+Z$/, 'Z')} (\`npm run bench -- --only ha --runs ${result.runsPerFault} --write\`), ` +
      `results in \`${file}\`: a local ${result.nodes}-node swarm of its own (stackctl swarm up), ${result.cores} cores, ` +
      `load average (1 / 5 / 15 min) ${loads(result.loadAtStart)} at the start and ${loads(result.loadAtEnd)} at the end ` +
      '(other work shared the machine).',
    '',
    table(
      ['target', 'limit', 'measured', 'result'],
      targets.map((x) => [x.name, x.limit, x.value, `**${x.pass ? 'PASS' : 'FAIL'}**`]),
    ),
    '',
    `**Throughput** — \`GET /\` at ${t.connections} connections for ${round(t.single.seconds, 1)} s after a warm-up, through ` +
      "node 1's published port, each run's totals checked: first the single-db swarm stack, then the same stack " +
      'grown to 3 Patroni members with `up --db-replicas 3` (seeded from its data: the same project, API tasks, ' +
      'port and nodes, so only the database tier differs), synchronous quorum replication. ' +
      `HA over single: × ${t.ratio}.`,
    '',
    table(
      ['stack', 'req/s', 'p50 ms', 'p99 ms', 'failed', 'load before', 'exact'],
      [loadRow('single db', t.single), loadRow('HA, 3 members, sync', t.ha)],
    ),
    '',
    `**Memory** — \`docker stats\` of every container of the HA stack inside every node (as each node's engine ` +
      `reports them, page cache left out as docker stats does), measured after the load: ${gib(m.stackBytes)} in ` +
      `${m.containers.length} containers. That sum is what is judged: it is what the stack itself takes, on any ` +
      "machines. The node containers, as the host's engine sees them, use " +
      `${gib(m.nodesBytes)} (${m.nodes.map((n) => `${n.name} ${mib(n.bytes)}`).join(', ')}): a node's cgroup holds ` +
      "its containers' cgroups (nested under it) and its own dockerd, containerd and shims, the engine every " +
      'machine of a swarm runs whether the stack is there or not.',
    '',
    table(
      ['role', 'containers', 'memory'],
      m.byRole.map((r) => [r.role, r.count, mib(r.bytes)]),
    ),
    '',
    `**Fault matrix** — ${result.runsPerFault} run(s) of each fault of the leader's node, rounds interleaved ` +
      '(kill, pause, partition, then again), each `stackctl verify-persistence --target swarm --mode ' +
      'failover|pause|partition --visits 120 --json` started once the cluster had settled (every member streaming, ' +
      'a node can be lost). kill: the node container SIGKILLed; pause: frozen, woken once another member leads; ' +
      'partition: cut from the other nodes by iptables inside it, healed once another member leads. Lost: ' +
      'acknowledged visits missing afterwards (the set check). Outage: the longest stretch after the fault with no ' +
      'write acknowledged, in s.',
    '',
    table(
      [
        'fault',
        'runs',
        'passed',
        'acknowledged',
        'lost',
        'outage p50',
        'p95',
        'max',
        'max leaders',
        'old leader rejoined',
      ],
      result.summaries.map((s) => [
        s.fault,
        s.runs,
        s.passed,
        s.acknowledged,
        s.unchecked > 0 ? `${s.lost} (+${s.unchecked} unchecked)` : s.lost,
        dash(s.outage?.p50),
        dash(s.outage?.p95),
        dash(s.outage?.max),
        dash(s.maxLeadersSeen),
        `${s.rejoined} of ${s.runs}`,
      ]),
    ),
    '',
    table(
      [
        'fault',
        'run',
        'passed',
        'acknowledged',
        'lost',
        'outage s',
        'leaders',
        'rejoined',
        'leader before → after',
        'check s',
      ],
      result.runs.map((r) => [
        r.fault,
        r.run,
        r.passed ? 'yes' : '**no**',
        dash(r.acknowledged),
        dash(r.lost),
        dash(r.outageSeconds),
        dash(r.maxLeadersSeen),
        r.oldLeaderRejoined === null ? '–' : r.oldLeaderRejoined ? 'yes' : 'no',
        `${r.leaderBefore ?? '?'} → ${r.leaderAfter ?? '?'}`,
        r.seconds,
      ]),
    ),
    ...(failures.length > 0 ? ['', 'Failed runs:', ...failures] : []),
  ].join('\n')
}

/** BENCHMARKS.md with the HA section's body replaced, or the section (heading and markers) appended. */
export function updateHaText(text: string, body: string): string {
  const marked = text.includes('<!-- bench:ha:start -->')
  return replaceSection(marked ? text : `${text.trimEnd()}\n\n## HA\n`, 'ha', body)
}
