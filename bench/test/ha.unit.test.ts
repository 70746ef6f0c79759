import {expect} from 'chai'

import {haMemory, parseMemUsage, parseStats, roleOf} from '../ha-memory.js'
import {haSection, haTargets, updateHaText, type HaResult} from '../ha-report.js'
import {readFaultRun, summarizeFault, unstartedRun, type FaultRun} from '../ha-runs.js'
import {parseOptions} from '../options.js'
import {percentile} from '../stats.js'
import {holderArgs, swarmLockFile} from '../swarm-lock.js'
import {checkedAt32} from './sample-results.js'

/** verify-persistence --json as the check prints it, with `change` laid over its failover report. */
function checkJson(change: {passed?: boolean; missingCount?: number | null; failover?: Record<string, unknown>} = {}) {
  return JSON.stringify({
    passed: change.passed ?? true,
    acknowledged: 118,
    missingCount: change.missingCount === undefined ? 0 : change.missingCount,
    reasons: change.passed === false ? ['3 acknowledged visits are missing'] : [],
    aborted: null,
    swarm: {
      failover: {
        leaderBefore: 'pg1',
        leaderAfter: 'pg2',
        outageSeconds: 12.5,
        maxLeadersSeen: 1,
        oldLeaderRejoined: true,
        ...change.failover,
      },
    },
  })
}

function faultRun(fault: FaultRun['fault'], run: number, change: Partial<FaultRun> = {}): FaultRun {
  return {
    ...readFaultRun(fault, run, {exitCode: 0, stdout: checkJson(), stderr: '', ms: 50_000}),
    ...change,
  }
}

const load = (rps: number, exact = true) => ({...checkedAt32(rps, exact), loadBefore: 3})

const GiB = 1024 ** 3

function result(runs: FaultRun[], change: Partial<HaResult> = {}): HaResult {
  const faults = [...new Set(runs.map((r) => r.fault))]
  const memory = haMemory(
    'st',
    [
      {node: 'sw-node1', name: 'st_pg1.1.abc', bytes: 0.5 * GiB},
      {node: 'sw-node1', name: 'st_etcd1.1.def', bytes: 0.1 * GiB},
      {node: 'sw-node2', name: 'st_pg2.1.ghi', bytes: 0.4 * GiB},
      {node: 'sw-node2', name: 'st_app.2.jkl', bytes: 0.05 * GiB},
      {node: 'sw-node3', name: 'st_router.3.mno', bytes: 0.01 * GiB},
    ],
    [
      {node: 'host', name: 'sw-node1', bytes: 0.2 * GiB},
      {node: 'host', name: 'sw-node2', bytes: 0.2 * GiB},
    ],
  )
  return {
    startedAt: '2026-12-07T08:00:00.123Z',
    finishedAt: '2026-12-07T08:40:00.000Z',
    cores: 2,
    loadAtStart: [4, 5, 6],
    loadAtEnd: [7, 6, 5],
    nodes: 3,
    runsPerFault: Math.max(...runs.map((r) => r.run)),
    faults,
    throughput: {connections: 32, single: load(1000), ha: load(600), ratio: 0.6},
    memory,
    runs,
    summaries: faults.map((f) => summarizeFault(f, runs)),
    ...change,
  }
}

const passing = () => [faultRun('kill', 1), faultRun('pause', 1), faultRun('partition', 1)]

describe('bench: the HA step', () => {
  describe('options', () => {
    it('--only ha: 10 runs of kill, pause and partition by default; --modes picks and orders them, each once', () => {
      const defaults = parseOptions(['--only', 'ha'])
      expect(defaults).to.include({only: 'ha', runs: 10, write: false, seconds: 10})
      expect(defaults.faults).to.deep.equal(['kill', 'pause', 'partition'])
      const picked = parseOptions(['--only', 'ha', '--runs', '2', '--modes', 'partition, kill,partition', '--write'])
      expect(picked).to.include({runs: 2, write: true})
      expect(picked.faults).to.deep.equal(['partition', 'kill'])
      // The protection step keeps its own default.
      expect(parseOptions(['--only', 'protection']).runs).to.equal(5)
    })

    it('refuses an unknown fault, --modes without --only ha, and a run count that is not a positive integer', () => {
      expect(() => parseOptions(['--only', 'ha', '--modes', 'kill,reboot'])).to.throw(
        "--modes takes a comma-separated list of kill, pause, partition, got 'kill,reboot'",
      )
      expect(() => parseOptions(['--only', 'ha', '--modes', ''])).to.throw('--modes takes a comma-separated list')
      expect(() => parseOptions(['--modes', 'kill'])).to.throw('--modes goes with --only ha')
      expect(() => parseOptions(['--only', 'protection', '--modes', 'kill'])).to.throw('--modes goes with --only ha')
      expect(() => parseOptions(['--only', 'ha', '--runs', '0'])).to.throw("--runs must be a positive integer, got '0'")
      expect(() => parseOptions(['--only', 'hA'])).to.throw("--only takes one step's name")
      expect(() => parseOptions(['--only', 'idle', '--write'])).to.throw('--write goes with --only engines')
    })
  })

  describe('the swarm lock', () => {
    it('is STACKCTL_SWARM_LOCK, else swarm.lock in the state directory; its holder lets go with this process', () => {
      expect(swarmLockFile({STACKCTL_SWARM_LOCK: '/work/swarm.lock'})).to.equal('/work/swarm.lock')
      expect(swarmLockFile({STACKCTL_STATE_DIR: '/s', HOME: '/h'})).to.equal('/s/swarm.lock')
      // --close: the lock is flock's own, so it ends with flock, not with a shell it started.
      expect(holderArgs('/l')).to.deep.equal(['--close', '/l', 'sh', '-c', 'echo held; read _'])
    })
  })

  describe('a fault run read from verify-persistence --json', () => {
    it('a passing run: nothing lost, its outage, leaders and the rejoin', () => {
      expect(readFaultRun('pause', 3, {exitCode: 0, stdout: checkJson(), stderr: '', ms: 61_234})).to.deep.equal({
        fault: 'pause',
        run: 3,
        exitCode: 0,
        seconds: 61.2,
        passed: true,
        acknowledged: 118,
        lost: 0,
        outageSeconds: 12.5,
        maxLeadersSeen: 1,
        oldLeaderRejoined: true,
        leaderBefore: 'pg1',
        leaderAfter: 'pg2',
        reason: null,
        output: null,
      })
    })

    it('a failed run keeps the check’s reasons; one with no JSON says what it printed; an unstarted one why', () => {
      const lost = readFaultRun('kill', 1, {
        exitCode: 1,
        stdout: checkJson({passed: false, missingCount: 3}),
        stderr: '',
        ms: 1000,
      })
      expect(lost).to.include({passed: false, lost: 3, reason: '3 acknowledged visits are missing'})
      // An abort is also among the check's reasons: said once.
      const aborted = JSON.stringify({
        ...JSON.parse(checkJson({passed: false, missingCount: null})),
        reasons: ['disrupt: a new leader: not within 300 s'],
        aborted: {phase: 'disrupt', message: 'a new leader: not within 300 s'},
      })
      expect(readFaultRun('kill', 6, {exitCode: 1, stdout: aborted, stderr: '', ms: 1}).reason).to.equal(
        'disrupt: a new leader: not within 300 s',
      )
      const garbled = readFaultRun('kill', 2, {exitCode: 2, stdout: '', stderr: 'x\nengine unreachable\n', ms: 10})
      expect(garbled).to.include({passed: false, lost: null, reason: 'exit 2, no JSON result: engine unreachable'})
      // A failed run keeps the check's last lines, to see where it stopped.
      expect(garbled.output).to.equal('x\nengine unreachable')
      // A JSON that says passed with a non-zero exit is no pass.
      expect(readFaultRun('kill', 3, {exitCode: 1, stdout: checkJson(), stderr: '', ms: 10}).passed).to.equal(false)
      expect(unstartedRun('partition', 4, 'did not settle')).to.include({
        passed: false,
        lost: null,
        reason: 'did not settle',
      })
    })
  })

  describe('percentiles and the per-fault summary', () => {
    it('nearest rank: p95 of 10 runs is the largest, of 20 the 19th', () => {
      const ten = [5, 1, 9, 3, 7, 2, 8, 4, 6, 10]
      expect([percentile(ten, 0.5), percentile(ten, 0.95)]).to.deep.equal([5, 10])
      const twenty = Array.from({length: 20}, (_, i) => i + 1)
      expect(percentile(twenty, 0.95)).to.equal(19)
    })

    it('sums what was lost, counts runs that never reached the set check, keeps each failure with its reason', () => {
      const runs = [
        faultRun('kill', 1, {outageSeconds: 10}),
        faultRun('kill', 2, {outageSeconds: 30, passed: false, lost: 2, reason: 'lost'}),
        unstartedRun('kill', 3, 'did not settle'),
        faultRun('pause', 1, {maxLeadersSeen: 2, oldLeaderRejoined: false}),
      ]
      const kill = summarizeFault('kill', runs)
      expect(kill).to.deep.include({runs: 3, passed: 1, lost: 2, unchecked: 1, acknowledged: 236, rejoined: 2})
      expect(kill.outage).to.deep.equal({p50: 10, p95: 30, max: 30, measured: 2})
      expect(kill.failures).to.deep.equal([
        {run: 2, reason: 'lost'},
        {run: 3, reason: 'did not settle'},
      ])
      expect(summarizeFault('pause', runs)).to.deep.include({maxLeadersSeen: 2, rejoined: 0})
      expect(summarizeFault('partition', runs)).to.deep.include({runs: 0, outage: null, maxLeadersSeen: null})
    })
  })

  describe('memory from docker stats', () => {
    it('reads binary and decimal units, and refuses what it cannot read', () => {
      expect(parseMemUsage('12.5MiB / 23.54GiB')).to.equal(13_107_200)
      expect(parseMemUsage('1.5GiB / 2GiB')).to.equal(1.5 * GiB)
      expect(parseMemUsage('512KiB / 1GiB')).to.equal(524_288)
      expect(parseMemUsage('980B / 1GiB')).to.equal(980)
      expect(parseMemUsage('2.1MB / 1GB')).to.equal(2_100_000)
      expect(() => parseMemUsage('--')).to.throw("cannot read a memory use from '--'")
    })

    it('keeps only the stack’s containers, sums them, and names each one’s role', () => {
      const text = 'st_pg1.1.x\t100MiB / 768MiB\nother_db.1.y\t900MiB / 1GiB\nst_router.1.z\t10MiB / 64MiB\n'
      const rows = parseStats('n1', text, (name) => name.startsWith('st_'))
      expect(rows).to.deep.equal([
        {node: 'n1', name: 'st_pg1.1.x', bytes: 100 * 1024 ** 2},
        {node: 'n1', name: 'st_router.1.z', bytes: 10 * 1024 ** 2},
      ])
      expect(
        ['st_pg2.1.a', 'st_etcd3.1.b', 'st_router.2.c', 'st_app.1.d', 'st_other.1.e'].map((n) => roleOf('st', n)),
      ).to.deep.equal(['PostgreSQL + Patroni', 'etcd', 'HAProxy', 'API', 'other'])
      const memory = haMemory('st', rows, [{node: 'host', name: 'sw-node1', bytes: 5}])
      expect(memory).to.deep.include({stackBytes: 110 * 1024 ** 2, nodesBytes: 5})
      expect(memory.byRole.map((r) => r.role)).to.deep.equal(['PostgreSQL + Patroni', 'HAProxy'])
    })
  })

  describe('targets', () => {
    it('all met on a clean matrix; each broken property fails its own target (the controls)', () => {
      const pass = (r: HaResult) => Object.fromEntries(haTargets(r).map((t) => [t.name.split(' (')[0], t.pass]))
      const clean = pass(result(passing()))
      expect(Object.values(clean).every(Boolean), JSON.stringify(clean)).to.equal(true)

      const lost = pass(result([faultRun('kill', 1, {lost: 1, passed: false}), ...passing().slice(1)]))
      expect(lost['acknowledged visits lost']).to.equal(false)
      expect(lost['fault runs passed']).to.equal(false)
      const unchecked = pass(result([unstartedRun('kill', 1, 'x'), ...passing().slice(1)]))
      expect(unchecked['acknowledged visits lost']).to.equal(false)
      expect(
        pass(result([faultRun('kill', 1, {maxLeadersSeen: 2}), ...passing().slice(1)]))[
          'leaders accepting writes at once'
        ],
      ).to.equal(false)
      // Judged per run, not per fault: a second round of clean runs passes; a run that did not report fails, said so.
      const twoRounds = result([...passing(), ...passing().map((r) => ({...r, run: 2}))])
      expect(pass(twoRounds)['leaders accepting writes at once']).to.equal(true)
      const unreported = result([...passing(), {...faultRun('kill', 2), maxLeadersSeen: null}])
      const leadersTarget = haTargets(unreported).find((t) => t.name === 'leaders accepting writes at once')
      expect(leadersTarget).to.include({pass: false, value: 'at most 1 (1 of 4 runs did not report it)'})
      expect(
        pass(result([faultRun('kill', 1, {oldLeaderRejoined: false}), ...passing().slice(1)]))[
          'old leader rejoined as a replica'
        ],
      ).to.equal(false)
      expect(
        pass(result([faultRun('kill', 1, {outageSeconds: 31}), ...passing().slice(1)]))['write outage p95 per fault'],
      ).to.equal(false)
      expect(
        pass(result([faultRun('kill', 1, {outageSeconds: 30}), ...passing().slice(1)]))['write outage p95 per fault'],
      ).to.equal(true)

      const heavy = result(passing())
      heavy.memory = haMemory('st', [{node: 'n', name: 'st_pg1.1.a', bytes: 4 * GiB + 1}], [])
      expect(pass(heavy)['memory of the whole 3-node HA stack']).to.equal(false)
      const inexact = result(passing())
      inexact.throughput = {...inexact.throughput, ha: load(600, false)}
      expect(pass(inexact)['API req/s at 32 connections, totals exact']).to.equal(false)
    })
  })

  describe('the report', () => {
    it('names the run, both loads with their ratio, the memory, each fault’s numbers and every failed run', () => {
      const runs = [...passing(), faultRun('kill', 2, {passed: false, lost: 0, reason: 'leader: no new leader\nmore'})]
      const r = result(runs)
      const text = haSection(r, haTargets(r), 'bench/results/ha-x.json')
      expect(text).to.match(
        /^Run 2026-12-07T08:00:00Z \(`npm run bench -- --only ha --runs 2 --write`\), results in `bench\/results\/ha-x.json`/,
      )
      expect(text).to.include('| single db | 1000 | 10 | 40 | 0 | 3 | yes |')
      expect(text).to.include('| HA, 3 members, sync | 600 | 10 | 40 | 0 | 3 | yes |')
      expect(text).to.include('HA over single: × 0.6.')
      expect(text).to.include('1.06 GiB in 5 containers')
      expect(text).to.include('| PostgreSQL + Patroni | 2 | 922 MiB |')
      expect(text).to.include('| kill | 2 | 1 | 236 | 0 | 12.5 | 12.5 | 12.5 | 1 | 2 of 2 |')
      expect(text).to.include('Failed runs:\n- kill run 2: leader: no new leader')
      expect(text).to.include('| **FAIL** |')
    })

    it('writes its section between its markers, added once with its heading', () => {
      const added = updateHaText('# Benchmarks\n\nL\n', 'one')
      expect(added).to.equal('# Benchmarks\n\nL\n\n## HA\n\n<!-- bench:ha:start -->\none\n<!-- bench:ha:end -->\n')
      expect(updateHaText(added, 'two')).to.equal(added.replace('\none\n', '\ntwo\n'))
    })
  })
})
