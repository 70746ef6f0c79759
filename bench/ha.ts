/**
 * `--only ha` (issue 26's measured items), on a local 3-node swarm of its own (`stackctl swarm up`), all through
 * the built CLI as a user runs it:
 * 1. the API's req/s at 32 connections (bench/api-load.ts, totals checked) on a single-db swarm stack, then on the
 *    same stack grown to 3 Patroni members (`up --db-replicas 3`, seeded from its data: the same project, API
 *    tasks, port and nodes, so only the database tier differs, and the seeding users run is what is measured);
 * 2. the memory of every container of the HA stack inside every node (`docker stats` through each node's engine),
 *    and of the node containers themselves (the host's engine);
 * 3. the fault matrix: `runs` rounds of kill, pause and partition of the leader's node, each one
 *    `verify-persistence --target swarm --mode failover|pause|partition --json` started once the cluster has
 *    settled; a run that fails is recorded with its reason and the matrix goes on.
 * The swarm (with every stack volume inside its nodes) and the stack directory are removed by the caller
 * (`HaRun.remove`), also on a failure or Ctrl-C.
 */
import {mkdtemp, rm} from 'node:fs/promises'
import {cpus, loadavg, tmpdir} from 'node:os'
import path from 'node:path'
import {randomBytes} from 'node:crypto'

import {createEngine} from '../src/lib/engine/dockerode-engine.js'
import {execAs} from '../src/lib/engine/exec-as.js'
import {freePort} from '../src/lib/engine/net/ports.js'
import {run} from '../src/lib/engine/process/run.js'
import {Psql} from '../src/lib/operations/db/psql.js'
import {listLocalSwarms} from '../src/lib/targets/swarm/cluster/local-swarm.js'
import {warmUp} from './api-load.js'
import {haMemory, parseStats, type HaMemory} from './ha-memory.js'
import type {HaResult} from './ha-report.js'
import {FAULT_MODE, readFaultRun, summarizeFault, unstartedRun, type FaultRun, type HaFault} from './ha-runs.js'
import {cliBin, runProcess, type ProcessResult} from './proc.js'
import type {LoadResult} from './results.js'
import {checkedLoad} from './robustness.js'
import {round} from './stats.js'

export const HA_NODES = 3
export const HA_CONNECTIONS = 32
/** Visits each fault check writes, and how long each of its waits may take (the HA integration test's values). */
const CHECK_VISITS = 120
const CHECK_TIMEOUT_SECONDS = 300
/** How long the cluster may take to settle before a run (a killed node's restart and rewind took minutes in CI). */
const SETTLE_MS = 300_000
const DEPLOY_TIMEOUT_SECONDS = 600

export interface HaOptions {
  runs: number
  faults: HaFault[]
  seconds: number
  warmUpSeconds: number
  /** Aborted on Ctrl-C/SIGTERM: the running stackctl is stopped as Ctrl-C would, no further step starts. */
  signal: AbortSignal
  log: (message: string) => void
}

interface StatusJson {
  healthy: boolean
  swarm: {
    ha?: {
      leader: string | null
      members: Array<{name: string; role: string; state: string; node: string}>
      canLoseNode: {safe: boolean; reason: string}
    }
  }
}

/** The swarm and the stack this run made: what `remove` takes away again. */
export class HaRun {
  readonly swarm = `st-bench-ha-${randomBytes(3).toString('hex')}`
  readonly project = `st-bench-${randomBytes(4).toString('hex')}`
  dir = ''
  port = 0
  manager = ''
  /** Each node's engine endpoint (a socket on this machine), by node name. */
  nodes: Record<string, string> = {}
  private swarmMade = false

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  /** stackctl on this run's stack, as a user runs it (a non-zero exit is an error unless `check` is false). */
  cli(args: string[], options: {signal?: AbortSignal; check?: boolean} = {}): Promise<ProcessResult> {
    const stack = ['--dir', this.dir, '--project-name', this.project, '--docker-host', this.manager]
    return runProcess(process.execPath, [cliBin, ...args, ...stack], {
      env: {STACKCTL_IMAGE_SOURCE: process.env.STACKCTL_IMAGE_SOURCE || 'local'},
      check: options.check,
      signal: options.signal,
    })
  }

  async makeSwarm(signal: AbortSignal): Promise<void> {
    this.dir = path.join(await mkdtemp(path.join(tmpdir(), 'stackctl-bench-ha-')), 'stack')
    this.port = await freePort()
    this.swarmMade = true
    const up = await runProcess(
      process.execPath,
      [cliBin, 'swarm', 'up', '--name', this.swarm, '--nodes', String(HA_NODES), '--port', String(this.port), '--json'],
      {signal},
    )
    this.manager = (JSON.parse(up.stdout) as {endpoint: string}).endpoint
    const found = (await listLocalSwarms(createEngine({DOCKER_HOST: undefined}))).find((s) => s.name === this.swarm)
    this.nodes = found?.nodeEndpoints ?? {}
    if (Object.keys(this.nodes).length !== HA_NODES) {
      throw new Error(
        `swarm ${this.swarm}: ${Object.keys(this.nodes).length} node endpoints found, ${HA_NODES} expected`,
      )
    }
  }

  /**
   * `swarm down --force` (the nodes hold every stack volume, so they go with them), then whatever still carries
   * the swarm's label on the host, then the stack directory. Never throws; returns the problems met.
   */
  async remove(): Promise<string[]> {
    const problems: string[] = []
    if (this.swarmMade) {
      const down = await runProcess(process.execPath, [cliBin, 'swarm', 'down', '--name', this.swarm, '--force'], {
        check: false,
      }).catch((error: Error) => ({exitCode: -1, stderr: error.message}))
      if (down.exitCode !== 0) problems.push(`swarm down: ${down.stderr.trim().split('\n').at(-1)}`)
      const label = `label=io.stackctl.swarm=${this.swarm}`
      for (const [list, remove] of [
        [
          ['ps', '--all', '--quiet', '--filter', label],
          ['rm', '--force', '--volumes'],
        ],
        [
          ['volume', 'ls', '--quiet', '--filter', label],
          ['volume', 'rm', '--force'],
        ],
        [
          ['network', 'ls', '--quiet', '--filter', label],
          ['network', 'rm'],
        ],
      ]) {
        const listed = await run('docker', list, {reject: false})
        for (const id of listed.stdout.split('\n').filter(Boolean)) {
          const removed = await run('docker', [...remove, id], {reject: false})
          if (removed.exitCode !== 0) problems.push(`docker ${remove.join(' ')} ${id}: ${removed.stderr.trim()}`)
        }
      }
    }
    if (this.dir) await rm(path.dirname(this.dir), {recursive: true, force: true})
    return problems
  }

  async status(signal?: AbortSignal): Promise<StatusJson> {
    return JSON.parse((await this.cli(['status', '--target', 'swarm', '--json'], {signal})).stdout) as StatusJson
  }

  /** Until every member streams on the leader and a node can be lost, the whole stack healthy; else why not. */
  async settle(signal: AbortSignal): Promise<string | undefined> {
    const deadline = Date.now() + SETTLE_MS
    let last = ''
    for (;;) {
      signal.throwIfAborted()
      const status = await this.status(signal).catch((error: Error) => error)
      if (!(status instanceof Error)) {
        const ha = status.swarm.ha
        const streaming = ha?.members.filter((m) => m.state === 'streaming').length ?? 0
        if (status.healthy && ha?.canLoseNode.safe && streaming === HA_NODES - 1) return undefined
        last = `healthy ${status.healthy}, leader ${ha?.leader ?? 'none'}, ${streaming} streaming, ${ha?.canLoseNode.reason ?? 'no members'}`
      } else last = status.message.split('\n')[0]
      if (Date.now() > deadline) return `the cluster did not settle within ${SETTLE_MS / 1000} s: ${last}`
      await new Promise((resolve) => setTimeout(resolve, 2000))
    }
  }

  /** psql on the task container of `service` (`db`, or the leader `pgN`), through its node's engine. */
  async psqlOn(service: string, asPostgres: boolean): Promise<Psql> {
    for (const endpoint of Object.values(this.nodes)) {
      const {stdout} = await run('docker', [
        '--host',
        endpoint,
        'ps',
        '--quiet',
        '--filter',
        `name=${this.project}_${service}\\.`,
      ])
      const id = stdout.split('\n').find(Boolean)
      if (!id) continue
      const engine = createEngine({DOCKER_HOST: endpoint})
      // The members' PostgreSQL lets local sessions in only as the postgres user (peer authentication).
      return new Psql(asPostgres ? execAs(engine, 'postgres') : engine, id)
    }
    throw new Error(`no running ${this.project}_${service} task on any node`)
  }
}

async function load(haRun: HaRun, psql: Psql, options: HaOptions, what: string): Promise<LoadResult> {
  options.log(
    `${what}: API warm-up ${options.warmUpSeconds} s, then GET / at ${HA_CONNECTIONS} for ${options.seconds} s`,
  )
  await warmUp(haRun.url, HA_CONNECTIONS, options.warmUpSeconds)
  const result = await checkedLoad(psql, haRun.url, HA_CONNECTIONS, options.seconds, {})
  options.log(`${what}: ${result.rps} req/s, p99 ${result.p99} ms, exact ${result.exactness?.exact}`)
  return result
}

async function measureMemory(haRun: HaRun): Promise<HaMemory> {
  const format = ['stats', '--no-stream', '--format', '{{.Name}}\t{{.MemUsage}}']
  const containers = []
  for (const [node, endpoint] of Object.entries(haRun.nodes)) {
    const {stdout} = await run('docker', ['--host', endpoint, ...format])
    containers.push(...parseStats(node, stdout, (name) => name.startsWith(`${haRun.project}_`)))
  }
  const names = Object.keys(haRun.nodes)
  const {stdout} = await run('docker', [...format, ...names])
  return haMemory(
    haRun.project,
    containers,
    parseStats('host', stdout, (name) => names.includes(name)),
  )
}

/** Round r runs the faults in order; a failed or unsettled run is recorded and the matrix goes on. */
async function faultMatrix(haRun: HaRun, options: HaOptions): Promise<FaultRun[]> {
  const runs: FaultRun[] = []
  for (let round = 1; round <= options.runs; round++) {
    for (const fault of options.faults) {
      options.signal.throwIfAborted()
      const unsettled = await haRun.settle(options.signal)
      if (unsettled) {
        runs.push(unstartedRun(fault, round, unsettled))
        options.log(`${fault} ${round}/${options.runs}: not started: ${unsettled}`)
        continue
      }
      const check = await haRun.cli(
        [
          'verify-persistence',
          '--target',
          'swarm',
          '--mode',
          FAULT_MODE[fault],
          '--visits',
          String(CHECK_VISITS),
          '--timeout',
          String(CHECK_TIMEOUT_SECONDS),
          '--json',
        ],
        {signal: options.signal, check: false},
      )
      options.signal.throwIfAborted()
      const result = readFaultRun(fault, round, check)
      runs.push(result)
      options.log(
        `${fault} ${round}/${options.runs}: ${result.passed ? 'passed' : `FAILED (${result.reason})`}, ` +
          `${result.lost ?? '?'} of ${result.acknowledged ?? '?'} acknowledged lost, outage ${result.outageSeconds ?? '?'} s, ` +
          `leaders ${result.maxLeadersSeen ?? '?'}, rejoined ${result.oldLeaderRejoined ?? '?'}, ${result.seconds} s`,
      )
    }
  }
  return runs
}

export async function measureHa(haRun: HaRun, options: HaOptions): Promise<HaResult> {
  const {signal, log} = options
  const startedAt = new Date().toISOString()
  const loadAtStart = loadavg().map((v) => round(v))
  log(`swarm ${haRun.swarm}: ${HA_NODES} nodes (stackctl swarm up)`)
  await haRun.makeSwarm(signal)
  const upArgs = ['up', '--target', 'swarm', '--port', String(haRun.port), '--timeout', String(DEPLOY_TIMEOUT_SECONDS)]
  log(`stack ${haRun.project}: single db on the swarm`)
  await haRun.cli(upArgs, {signal})
  const single = await load(haRun, await haRun.psqlOn('db', false), options, 'single db')

  log(`stack ${haRun.project}: up --db-replicas 3 (seeded from the single db's data)`)
  await haRun.cli([...upArgs, '--db-replicas', String(HA_NODES)], {signal})
  const unsettled = await haRun.settle(signal)
  if (unsettled) throw new Error(`the HA stack did not settle after its deploy: ${unsettled}`)
  const leader = (await haRun.status(signal)).swarm.ha?.leader
  if (!leader) throw new Error('the HA stack has no leader after its deploy')
  const ha = await load(haRun, await haRun.psqlOn(leader, true), options, `HA (leader ${leader})`)
  const memory = await measureMemory(haRun)
  log(`memory: ${round(memory.stackBytes / 1024 ** 3, 2)} GiB in ${memory.containers.length} containers of the stack`)

  const runs = await faultMatrix(haRun, options)
  return {
    startedAt,
    finishedAt: new Date().toISOString(),
    cores: cpus().length,
    loadAtStart,
    loadAtEnd: loadavg().map((v) => round(v)),
    nodes: HA_NODES,
    runsPerFault: options.runs,
    faults: options.faults,
    throughput: {connections: HA_CONNECTIONS, single, ha, ratio: round(ha.rps / single.rps, 2)},
    memory,
    runs,
    summaries: options.faults.map((fault) => summarizeFault(fault, runs)),
  }
}
