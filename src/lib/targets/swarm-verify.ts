/**
 * `stackctl verify-persistence --target swarm`: writes visits through the API, keeps the id of every
 * acknowledged one, takes a piece of the swarm away and checks through the API that every acknowledged visit
 * is still there. Modes:
 *  - down:  `docker stack rm`, wait until it is gone, deploy again (the volume stays on the db's node);
 *  - kill:  SIGKILL the db's container while visits are being written; swarm restarts the task, on the same
 *           node because it is pinned there (local swarm: the container is reached through its node);
 *  - drain: drain a node that runs an API replica and not the db, while visits keep being written through the
 *           stack's URL: none may fail; the node is made active again afterwards, whatever happened.
 */
import {get} from 'node:http'

import {StackctlError, UsageError} from '../errors.js'
import {VisitWriter, type WriteResult} from '../persistence/load.js'
import type {ImageResolver} from '../stack/images.js'
import {waitForTasks} from '../swarm/tasks.js'
import {assertManager, type SwarmContext} from '../cluster/context.js'
import {deploySwarmStack} from '../cluster/deploy.js'
import {downSwarmStack} from '../cluster/down.js'
import {swarmStackStatus} from '../cluster/status.js'

export const SWARM_MODES = ['down', 'kill', 'drain'] as const
export type SwarmMode = (typeof SWARM_MODES)[number]
const MISSING_SHOWN = 20

export interface SwarmCheckOptions {
  mode: SwarmMode
  visits: number
  concurrency: number
  resolver: ImageResolver
  signal?: AbortSignal
}

export interface WriterSummary {
  attempted: number
  acknowledged: number
  failed: number
  errors: string[]
}

export interface SwarmPersistenceResult {
  target: 'swarm'
  mode: SwarmMode
  passed: boolean
  /** The visits written before (down) or around (kill, drain) the disruption. */
  written: WriterSummary
  /** What was disrupted: the db's node before and after, or the drained node. */
  disruption: string
  dbNodeBefore: string
  dbNodeAfter: string
  missingCount: number
  missing: number[]
  totalAfter: number | null
  problems: string[]
  seconds: number
}

export async function verifySwarmPersistence(
  sw: SwarmContext,
  options: SwarmCheckOptions,
): Promise<SwarmPersistenceResult> {
  const started = Date.now()
  await assertManager(sw)
  if (options.mode === 'kill' && !sw.target.local) {
    throw new UsageError(
      '--mode kill reaches the db container through its node: it needs the local swarm',
      'use --mode down or drain',
    )
  }
  const before = await swarmStackStatus(sw)
  if (!before.healthy) {
    throw new StackctlError(
      `stack '${sw.stack.config.project}' is not running healthy on the swarm (db ${before.replicas.db}, app ${before.replicas.app})`,
      {
        exitCode: 2,
        suggestion: 'deploy it first: stackctl up --target swarm',
      },
    )
  }
  const problems: string[] = []
  const outcome = await disrupt(sw, options, before.dbNode, problems)
  const after = await swarmStackStatus(sw)
  const ids = new Set(await storedIds(after.url, Math.min(...outcome.written.acknowledgedIds, Number.MAX_SAFE_INTEGER)))
  const missing = outcome.written.acknowledgedIds.filter((id) => !ids.has(id))
  if (missing.length > 0) problems.push(`${missing.length} acknowledged visits are missing after ${outcome.disruption}`)
  if (outcome.written.acknowledged === 0) problems.push('no visit was acknowledged, so nothing was proven')
  if (after.dbNode !== before.dbNode) problems.push(`the db moved from ${before.dbNode} to ${after.dbNode}`)
  const dbTask = after.tasks.find((t) => t.service === 'db' && t.state === 'running')
  if (dbTask && dbTask.node !== before.dbNode) problems.push(`the db runs on ${dbTask.node}, not on ${before.dbNode}`)
  return {
    target: 'swarm',
    mode: options.mode,
    passed: problems.length === 0,
    written: summary(outcome.written),
    disruption: outcome.disruption,
    dbNodeBefore: before.dbNode,
    dbNodeAfter: dbTask?.node ?? after.dbNode,
    missingCount: missing.length,
    missing: [...missing].sort((a, b) => a - b).slice(0, MISSING_SHOWN),
    totalAfter: await totalNow(after.url),
    problems,
    seconds: (Date.now() - started) / 1000,
  }
}

interface Disruption {
  written: WriteResult
  disruption: string
}

async function disrupt(
  sw: SwarmContext,
  options: SwarmCheckOptions,
  dbNode: string,
  problems: string[],
): Promise<Disruption> {
  const url = (await swarmStackStatus(sw)).url
  const project = sw.stack.config.project
  const wait = () =>
    waitForTasks(
      sw.manager.swarm,
      project,
      {db: 1, app: sw.swarmState?.replicas ?? 1},
      {
        timeoutMs: sw.stack.config.timeoutSeconds * 1000,
        signal: options.signal,
        progress: sw.progress,
      },
    )

  if (options.mode === 'down') {
    sw.progress(`writing ${options.visits} visits through ${url}`)
    const written = await new VisitWriter({url, visits: options.visits, concurrency: options.concurrency}).run()
    sw.progress(`${written.acknowledged} acknowledged; removing the stack and deploying it again`)
    await downSwarmStack(sw, {signal: options.signal})
    await deploySwarmStack(sw, options.resolver, {signal: options.signal})
    return {written, disruption: 'docker stack rm and a new deploy'}
  }

  if (options.mode === 'kill') {
    const writer = new VisitWriter({
      url,
      visits: options.visits,
      concurrency: options.concurrency,
      requestTimeoutMs: 20_000,
    })
    const running = writer.run()
    await writer.until((s) => s.acknowledged >= Math.ceil(options.visits / 2))
    const task = (await sw.manager.swarm.tasks(project)).find(
      (t) => t.serviceName === `${project}_db` && t.state === 'running' && t.containerId,
    )
    if (!task?.containerId) throw new StackctlError(`no running db task of '${project}' to kill`)
    sw.progress(`SIGKILL of the db container on ${dbNode} with ${writer.state.inFlight} visits in flight`)
    await sw.hostCli.inNode(dbNode, ['kill', '--signal', 'KILL', task.containerId])
    const written = await running
    // Swarm notices the death a moment later: until then the killed task still reads as running.
    await untilReplaced(sw, task.id, options.signal)
    await wait()
    return {written, disruption: `SIGKILL of the db container on ${dbNode}`}
  }

  const node = await nodeToDrain(sw, dbNode)
  const writer = new VisitWriter({url, visits: 1_000_000, concurrency: options.concurrency})
  const running = writer.run()
  try {
    await writer.until((s) => s.acknowledged >= 10)
    sw.progress(`draining ${node.hostname} while visits are written through ${url}`)
    await sw.manager.swarm.updateNode(node.id, {availability: 'drain'})
    await untilNoTaskOn(sw, node.id, options.signal)
    const drained = writer.state.acknowledged
    sw.progress(`${node.hostname} runs no task; ${drained} visits acknowledged so far`)
    await writer.until((s) => s.acknowledged >= drained + Math.max(10, options.visits))
  } finally {
    writer.stop()
    await sw.manager.swarm.updateNode(node.id, {availability: 'active'})
  }
  const written = await running
  if (written.failed > 0)
    problems.push(`${written.failed} visits failed while ${node.hostname} was drained (${written.errors.join(', ')})`)
  sw.progress(`${node.hostname} is active again`)
  await wait()
  return {written, disruption: `draining ${node.hostname}`}
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

function summary(written: WriteResult): WriterSummary {
  return {
    attempted: written.attempted,
    acknowledged: written.acknowledged,
    failed: written.failed,
    errors: written.errors,
  }
}

/** The ids the API lists down to `lowest`, newest first, 1,000 a page. */
async function storedIds(url: string, lowest: number): Promise<number[]> {
  const ids: number[] = []
  let before: number | null = null
  for (;;) {
    const page = (await getJson(`${url}/visits?limit=1000${before === null ? '' : `&before=${before}`}`)) as {
      visits: Array<{id: number}>
      nextBefore: number | null
    }
    ids.push(...page.visits.map((v) => v.id))
    if (page.nextBefore === null || page.visits.length === 0 || page.visits.at(-1)!.id <= lowest) return ids
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

export function describeSwarmCheck(result: SwarmPersistenceResult): string[] {
  const w = result.written
  return [
    `mode ${result.mode}: ${result.disruption}`,
    `visits: ${w.attempted} attempted, ${w.acknowledged} acknowledged, ${w.failed} failed${w.errors.length ? ` (${w.errors.join(', ')})` : ''}`,
    `db node: ${result.dbNodeBefore} before, ${result.dbNodeAfter} after`,
    `acknowledged visits missing: ${result.missingCount}${result.missing.length ? ` (ids ${result.missing.join(', ')}${result.missingCount > result.missing.length ? ', …' : ''})` : ''}`,
    `total now: ${result.totalAfter ?? 'unknown'}`,
    ...result.problems.map((p) => `problem: ${p}`),
    result.passed ? `PASSED in ${result.seconds.toFixed(1)} s` : `FAILED in ${result.seconds.toFixed(1)} s`,
  ]
}
