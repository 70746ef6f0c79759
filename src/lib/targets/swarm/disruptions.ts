/**
 * `stackctl verify-persistence --target swarm`: the swarm's side of the one persistence pipeline
 * (operations/verify/verify.ts `verifyWithDisruption`): the stack checked through its API, and its disruptions:
 *  - down:  `docker stack rm`, wait until it is gone, deploy again (the volume stays on the db's node);
 *  - kill:  SIGKILL the db's container while visits are being written; swarm restarts the task, on the same
 *           node because it is pinned there (local swarm: the container is reached through its node);
 *  - drain: drain a node that runs an API replica and not the db, while visits keep being written through the
 *           stack's URL: none may fail; the node is made active again afterwards, whatever happened.
 */
import {get} from 'node:http'

import {StackctlError, UsageError} from '../../errors.js'
import type {StepRunner} from '../../plan/runner.js'
import {missingProblems} from '../../operations/verify/checks.js'
import {VisitWriter, type WriteResult} from '../../operations/verify/load.js'
import type {FailoverReport, PersistenceResult} from '../../operations/verify/result.js'
import {
  verifyWithDisruption,
  type CheckedStack,
  type Disruption,
  type DisruptionReport,
  type PreparedStack,
  type StackReport,
} from '../../operations/verify/verify.js'
import type {ImageResolver} from '../../stack/images.js'
import {waitForTasks} from './tasks.js'
import {assertManager, swarmCommand, tasksHint, type SwarmContext} from './cluster/context.js'
import {deploySwarmStack} from './cluster/deploy.js'
import {downSwarmStack} from './cluster/down.js'
import {swarmStackStatus} from './cluster/status.js'
import {failoverDisruption, FREEZE_PATRONI_ENV, STALL_ENV, switchoverDisruption} from './ha/failover.js'
import {newRowsBeyondAttempts} from './ha/set-check.js'
import {haVolumes} from './ha/spec.js'

export const SWARM_MODES = ['down', 'kill', 'drain', 'failover', 'pause', 'partition', 'switchover'] as const
export type SwarmMode = (typeof SWARM_MODES)[number]
/** The modes that disrupt the HA database's leader and check the set of visits since the check began. */
const HA_MODES: ReadonlySet<SwarmMode> = new Set(['failover', 'pause', 'partition', 'switchover'])

export interface SwarmCheckOptions {
  mode: SwarmMode
  visits: number
  concurrency: number
  resolver: ImageResolver
  signal?: AbortSignal
  /** The command's step runner (its display). */
  steps?: StepRunner
}

export async function verifySwarmPersistence(sw: SwarmContext, options: SwarmCheckOptions): Promise<PersistenceResult> {
  const stack = new SwarmApiStack(sw, options.mode, options.resolver)
  return verifyWithDisruption(stack, swarmDisruption(sw, stack, options), {
    visits: options.visits,
    concurrency: options.concurrency,
    signal: options.signal,
    steps: options.steps,
    progress: sw.progress,
  })
}

/** The stack on the swarm as the pipeline sees it: through its URL, and the manager for where the db runs. */
class SwarmApiStack implements CheckedStack {
  readonly project: string
  readonly volume: string
  readonly again: string
  dbNodeBefore = ''
  url = ''
  private dbNodeAfter?: string
  private totalAfter: number | null = null
  /** The newest visit id before the check's writes (failover: the rows beyond it must be no more than the attempts). */
  private highestBefore = 0

  constructor(
    private readonly sw: SwarmContext,
    private readonly mode: SwarmMode,
    private readonly resolver: ImageResolver,
  ) {
    this.project = sw.stack.config.project
    // The HA database's data is on its members' volumes; the single db's (kept after seeding) is not the stack's.
    this.volume = sw.swarmState?.ha ? haVolumes(this.project, sw.swarmState.ha) : sw.stack.config.volume
    this.again = swarmCommand(sw, 'verify-persistence')
  }

  /** Refuses a stack that is not running healthy: the check deploys nothing it did not take down. */
  async prepare(): Promise<PreparedStack> {
    await assertManager(this.sw)
    if (HA_MODES.has(this.mode) && (!this.sw.swarmState?.ha || !this.sw.target.local)) {
      throw new UsageError(
        this.mode === 'failover'
          ? '--mode failover kills the leader node of the HA database: it needs a stack deployed with --db-replicas 3 on the local swarm'
          : this.mode === 'pause'
            ? '--mode pause freezes the leader node of the HA database: it needs a stack deployed with --db-replicas 3 on the local swarm'
            : this.mode === 'partition'
              ? '--mode partition cuts the leader node of the HA database from the others: it needs a stack deployed with --db-replicas 3 on the local swarm'
              : '--mode switchover moves the leader of the HA database: it needs a stack deployed with --db-replicas 3 on the local swarm',
        `deploy it with: ${swarmCommand(this.sw, 'up')} --db-replicas 3`,
      )
    }
    if (this.mode === 'kill' && this.sw.swarmState?.ha) {
      throw new UsageError('--mode kill targets the single db; this stack runs the HA database', 'use --mode failover')
    }
    if (this.mode === 'kill' && !this.sw.target.local) {
      throw new UsageError(
        '--mode kill reaches the db container through its node: it needs the local swarm',
        'use --mode down or drain',
      )
    }
    const before = await swarmStackStatus(this.sw)
    if (!before.healthy) {
      throw new StackctlError(
        `stack '${this.project}' is not running healthy on the swarm (db ${before.replicas.db}, app ${before.replicas.app})`,
        {exitCode: 2, suggestion: `deploy it first: ${swarmCommand(this.sw, 'up')}`},
      )
    }
    this.dbNodeBefore = before.dbNode
    this.url = before.url
    if (HA_MODES.has(this.mode)) this.highestBefore = (await storedIds(before.url, Number.MAX_SAFE_INTEGER, 1))[0] ?? 0
    return {url: before.url, foundRunning: true, startedStack: false}
  }

  async verify(written: WriteResult): Promise<{missing: number[]; problems: string[]}> {
    const ids = written.acknowledgedIds
    const url = (await swarmStackStatus(this.sw)).url
    // failover: every row since the check began, for final ⊆ attempted; otherwise down to the oldest acknowledged.
    const lowest = HA_MODES.has(this.mode) ? this.highestBefore + 1 : Math.min(...ids, Number.MAX_SAFE_INTEGER)
    const stored = new Set(await storedIds(url, lowest))
    const missing = ids.filter((id) => !stored.has(id))
    const problems = missingProblems(missing, written.acknowledged)
    if (HA_MODES.has(this.mode)) {
      const beyond = newRowsBeyondAttempts([...stored], this.highestBefore, written.attempted)
      if (beyond) problems.push(beyond)
    }
    this.totalAfter = await totalNow(url)
    return {missing, problems}
  }

  async audit(): Promise<string[]> {
    const after = await swarmStackStatus(this.sw)
    const reasons: string[] = []
    const before = this.dbNodeBefore
    if (after.dbNode !== before) reasons.push(`the db moved from ${before} to ${after.dbNode}`)
    const dbTask = after.tasks.find((t) => t.service === 'db' && t.state === 'running')
    if (dbTask && dbTask.node !== before) reasons.push(`the db runs on ${dbTask.node}, not on ${before}`)
    this.dbNodeAfter = dbTask?.node ?? after.dbNode
    return reasons
  }

  /** Deploys the stack again (an interrupted `stack rm`): the volume stays on the db's pinned node. */
  async start(): Promise<void> {
    await deploySwarmStack(this.sw, this.resolver, {})
  }

  /** Never asked: the check only runs on a stack it found running. */
  async stop(): Promise<void> {
    throw new StackctlError('the swarm check does not stop a stack it found running')
  }

  async healthy(): Promise<boolean> {
    return (await swarmStackStatus(this.sw)).healthy
  }

  report(disruption: DisruptionReport | undefined): StackReport {
    return {
      baseline: null,
      before: null,
      after: this.totalAfter,
      checksumBefore: null,
      checksumAfter: null,
      durability: null,
      volume: {
        name: this.volume,
        createdAtBefore: null,
        createdAtAfter: null,
        removedDuringCheck: false,
        systemIdentifierBefore: null,
        systemIdentifierAfter: null,
      },
      swarm: {
        disruption: disruption?.description ?? 'not disrupted',
        failover: disruption?.failover ?? null,
        dbNodeBefore: this.dbNodeBefore,
        dbNodeAfter: this.dbNodeAfter ?? '',
      },
    }
  }
}

function swarmDisruption(sw: SwarmContext, stack: SwarmApiStack, options: SwarmCheckOptions): Disruption {
  const project = sw.stack.config.project
  const wait = (signal?: AbortSignal) =>
    waitForTasks(
      sw.manager.swarm,
      project,
      {db: 1, app: sw.swarmState?.replicas ?? 1},
      {timeoutMs: sw.stack.config.timeoutSeconds * 1000, signal, progress: sw.progress, hint: tasksHint(sw)},
    )

  if (options.mode === 'switchover') {
    return switchoverDisruption(sw, sw.swarmState!.ha!, {timeoutMs: sw.stack.config.timeoutSeconds * 1000})
  }

  if (options.mode === 'failover' || options.mode === 'pause' || options.mode === 'partition') {
    return failoverDisruption(sw, sw.swarmState!.ha!, {
      stallReplication: process.env[STALL_ENV] === '1',
      timeoutMs: sw.stack.config.timeoutSeconds * 1000,
      fault: options.mode === 'failover' ? 'kill' : options.mode,
      freezeOldLeaderPatroni: options.mode === 'partition' && process.env[FREEZE_PATRONI_ENV] === '1',
    })
  }

  if (options.mode === 'down') {
    return {
      mode: 'down',
      step: 'disrupt',
      async disrupt(url, {visits, concurrency}, signal) {
        sw.progress(`writing ${visits} visits through ${url}`)
        const written = await new VisitWriter({url, visits, concurrency}).run()
        sw.progress(`${written.acknowledged} acknowledged; removing the stack and deploying it again`)
        await downSwarmStack(sw, {signal})
        return {written, description: 'docker stack rm and a new deploy', problems: []}
      },
      async relaunch(signal) {
        await deploySwarmStack(sw, options.resolver, {signal})
      },
    }
  }

  if (options.mode === 'kill') {
    return {
      mode: 'kill',
      step: 'disrupt',
      healsItself: true,
      async disrupt(url, {visits, concurrency}, signal) {
        const dbNode = stack.dbNodeBefore
        const writer = new VisitWriter({url, visits, concurrency, requestTimeoutMs: 20_000})
        const running = writer.run()
        await writer.until((s) => s.acknowledged >= Math.ceil(visits / 2))
        const task = (await sw.manager.swarm.tasks(project)).find(
          (t) => t.serviceName === `${project}_db` && t.state === 'running' && t.containerId,
        )
        if (!task?.containerId) throw new StackctlError(`no running db task of '${project}' to kill`)
        sw.progress(`SIGKILL of the db container on ${dbNode} with ${writer.state.inFlight} visits in flight`)
        await sw.hostCli.nodeKill(dbNode, task.containerId)
        const written = await running
        // Swarm notices the death a moment later: until then the killed task still reads as running.
        await untilReplaced(sw, task.id, signal)
        return {written, description: `SIGKILL of the db container on ${dbNode}`, problems: []}
      },
      relaunch: wait,
    }
  }

  return {
    mode: 'drain',
    step: 'disrupt',
    healsItself: true,
    async disrupt(url, {visits, concurrency}, signal) {
      const node = await nodeToDrain(sw, stack.dbNodeBefore)
      const writer = new VisitWriter({url, visits: 1_000_000, concurrency})
      const running = writer.run()
      try {
        await writer.until((s) => s.acknowledged >= 10)
        sw.progress(`draining ${node.hostname} while visits are written through ${url}`)
        await sw.manager.swarm.updateNode(node.id, {availability: 'drain'})
        await untilNoTaskOn(sw, node.id, signal)
        const drained = writer.state.acknowledged
        sw.progress(`${node.hostname} runs no task; ${drained} visits acknowledged so far`)
        await writer.until((s) => s.acknowledged >= drained + Math.max(10, visits))
      } finally {
        writer.stop()
        await sw.manager.swarm.updateNode(node.id, {availability: 'active'})
      }
      const written = await running
      sw.progress(`${node.hostname} is active again`)
      const problems =
        written.failed > 0
          ? [`${written.failed} visits failed while ${node.hostname} was drained (${written.errors.join(', ')})`]
          : []
      return {written, description: `draining ${node.hostname}`, problems}
    },
    relaunch: wait,
  }
}

/** A node running an API replica but not the db; on the local swarm not node 1, whose port the URL reaches. */
async function nodeToDrain(sw: SwarmContext, dbNode: string) {
  const project = sw.stack.config.project
  const [tasks, nodes] = await Promise.all([sw.manager.swarm.tasks(project), sw.manager.swarm.nodes()])
  const manager = nodes.find((n) => n.role === 'manager')
  const candidates = nodes.filter(
    (n) =>
      n.hostname !== dbNode &&
      !(sw.target.local && n.id === manager?.id) &&
      tasks.some((t) => t.nodeId === n.id && t.serviceName === `${project}_app` && t.state === 'running'),
  )
  if (candidates.length === 0) {
    throw new UsageError(
      'no node runs an API replica without the db (and, on the local swarm, other than node 1)',
      'deploy more replicas (up --target swarm --replicas 3) on a swarm of 3 or more nodes',
    )
  }
  return candidates[0]
}

async function untilNoTaskOn(sw: SwarmContext, nodeId: string, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + 120_000
  for (;;) {
    const tasks = await sw.manager.swarm.tasks(sw.stack.config.project)
    if (!tasks.some((t) => t.nodeId === nodeId && ['running', 'starting', 'preparing'].includes(t.state))) return
    if (signal?.aborted || Date.now() > deadline) throw new StackctlError('the drained node kept its tasks for 120 s')
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

async function untilReplaced(sw: SwarmContext, taskId: string, signal?: AbortSignal): Promise<void> {
  const project = sw.stack.config.project
  const deadline = Date.now() + sw.stack.config.timeoutSeconds * 1000
  for (;;) {
    const tasks = await sw.manager.swarm.tasks(project)
    const replaced = tasks.some((t) => t.serviceName === `${project}_db` && t.id !== taskId && t.state === 'running')
    if (replaced) return
    if (signal?.aborted || Date.now() > deadline) throw new StackctlError('the killed db task was not replaced in time')
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

/** The ids the API lists down to `lowest`, newest first, 1,000 a page. */
async function storedIds(url: string, lowest: number, limit = 1000): Promise<number[]> {
  const ids: number[] = []
  let before: number | null = null
  for (;;) {
    const page = (await getJson(`${url}/visits?limit=${limit}${before === null ? '' : `&before=${before}`}`)) as {
      visits: Array<{id: number}>
      nextBefore: number | null
    }
    ids.push(...page.visits.map((v) => v.id))
    if (page.nextBefore === null || page.visits.length === 0 || page.visits.at(-1)!.id <= lowest || limit < 1000)
      return ids
    before = page.nextBefore
  }
}

async function totalNow(url: string): Promise<number | null> {
  const reply = (await getJson(`${url}/`).catch(() => undefined)) as {visits?: number} | undefined
  return reply?.visits ?? null
}

/** The API answers 503 for a moment after the db came back (its pool reconnects): ask again for up to 30 s. */
async function getJson(url: string): Promise<unknown> {
  const deadline = Date.now() + 30_000
  for (;;) {
    try {
      return await getJsonOnce(url)
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 1000))
    }
  }
}

function getJsonOnce(url: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    get(url, {signal: AbortSignal.timeout(30_000)}, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('error', reject)
      response.on('end', () => {
        if (response.statusCode !== 200) return reject(new StackctlError(`${url}: HTTP ${response.statusCode}`))
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')))
        } catch (error) {
          reject(error)
        }
      })
    }).on('error', reject)
  })
}

/** The human report of a swarm check (its --json is the same shape as the Compose check's). */
export function describeSwarmCheck(result: PersistenceResult): string[] {
  const seconds = result.phases.reduce((sum, phase) => sum + phase.ms, 0) / 1000
  const failed = result.attempted - result.acknowledged
  return [
    `mode ${result.mode}: ${result.swarm?.disruption ?? 'not disrupted'}`,
    `visits: ${result.attempted} attempted, ${result.acknowledged} acknowledged, ${failed} failed`,
    ...(result.swarm?.failover
      ? []
      : [`db node: ${result.swarm?.dbNodeBefore ?? '?'} before, ${result.swarm?.dbNodeAfter ?? '?'} after`]),
    `acknowledged visits missing: ${result.missingCount}${result.missing.length ? ` (ids ${result.missing.join(', ')}${(result.missingCount ?? 0) > result.missing.length ? ', …' : ''})` : ''}`,
    `total now: ${result.after ?? 'unknown'}`,
    ...(result.swarm?.failover ? describeFailover(result.swarm.failover) : []),
    ...result.reasons.map((p) => `problem: ${p}`),
    result.passed ? `PASSED in ${seconds.toFixed(1)} s` : `FAILED in ${seconds.toFixed(1)} s`,
  ]
}

function describeFailover(f: FailoverReport): string[] {
  return [
    `leader: ${f.leaderBefore} (timeline ${f.timelineBefore ?? '?'}) before, ${f.leaderAfter ?? 'none'} (timeline ${f.timelineAfter ?? '?'}) after; replication ${f.durability}`,
    `write outage: ${f.outageSeconds === null ? 'writes did not come back' : `${f.outageSeconds.toFixed(1)} s`}; ${f.leaderBefore} ${f.oldLeaderRejoined ? 'rejoined as a replica' : 'did NOT rejoin'}; most leaders at once: ${f.maxLeadersSeen}`,
  ]
}
