/**
 * `stackctl down --target swarm`: `docker stack rm`, then wait until the swarm has removed the stack's tasks
 * and network (it does so asynchronously, and a redeploy before that fails). The data volume stays on its node
 * and the db stays pinned there; --volumes removes it (local swarm only) after the same confirmation as Compose.
 * With the HA database, --volumes removes every member's volume (and etcd's, and a seeding's kept single-db
 * volume) after the stack's name is typed back.
 */
import {volumeName} from '../../../model/config/stack-config.js'
import {LABELS} from '../../../model/config/labels.js'
import {Interrupted, StackctlError, UsageError} from '../../../errors.js'
import {dbNodeLabel} from '../db-node.js'
import {etcdVolume, type HaSettings, pgVolume} from '../ha/spec.js'
import {allOf} from '../../../engine/wait/all-of.js'
import {ready, waitUntil, waiting} from '../../../engine/wait/wait-until.js'
import {assertManager, swarmCommand, type SwarmContext} from './context.js'

export interface SwarmDownResult {
  target: 'swarm'
  project: string
  removed: boolean
  /** The single db's volume; with the HA database, every volume listed in one name (and node ''). */
  volume: {name: string; node: string; removed: boolean}
  /** Each data volume of the stack on its node: the single db's, or the members' (etcd's too) and a seed kept. */
  volumes: Array<{name: string; node: string; removed: boolean}>
  seconds: number
}

export interface SwarmDownOptions {
  volumes?: boolean
  force?: boolean
  confirm?: (question: string, expected: string) => Promise<boolean>
  signal?: AbortSignal
  timeoutMs?: number
}

/** The HA database's volumes, each on its member's node, and the single db's volume a seeding kept. */
export function haVolumes(project: string, ha: HaSettings): Array<{name: string; node: string}> {
  const members = ha.members.flatMap((m, i) => [
    {name: `${project}_${pgVolume(i + 1)}`, node: m.node},
    {name: `${project}_${etcdVolume(i + 1)}`, node: m.node},
  ])
  return ha.seededFrom ? [...members, {name: volumeName(project), node: ha.seededFrom}] : members
}

export async function downSwarmStack(sw: SwarmContext, options: SwarmDownOptions = {}): Promise<SwarmDownResult> {
  const started = Date.now()
  const {project} = sw.stack.config
  await assertManager(sw)
  const ha = sw.swarmState?.ha
  const nodes = await sw.manager.swarm.nodes()
  const dbNode = nodes.find((n) => n.labels[dbNodeLabel(project)] === 'true')
  // The HA database keeps one volume per member (and etcd's) on its node: down names them all.
  const candidates = ha ? haVolumes(project, ha) : dbNode ? [{name: volumeName(project), node: dbNode.hostname}] : []
  const volume = ha ? candidates.map((v) => `${v.name} on ${v.node}`).join(', ') : volumeName(project)
  if (options.volumes) {
    if (!sw.target.local || candidates.length === 0) {
      throw new UsageError(
        '--volumes with --target swarm needs the local swarm and a pinned db node',
        'remove the volume on its node yourself; nothing was changed',
      )
    }
    if (!options.force) {
      const [question, expected] = ha
        ? [`delete the database volumes of '${project}' (${volume})? Every visit in them is lost.`, project]
        : [`delete the data volume ${volume} on ${dbNode?.hostname}? Every visit in it is lost.`, volume]
      if (!options.confirm || !(await options.confirm(question, expected))) {
        throw new StackctlError(
          `not deleting ${ha ? `the volumes of '${project}'` : volume}: not confirmed; nothing was changed`,
          {
            exitCode: 2,
            suggestion: `type ${ha ? "the stack's name" : "the volume's name"} at the prompt in a terminal, or pass --force with --volumes`,
          },
        )
      }
    }
  }
  const services = await sw.manager.swarm.services(project)
  const foreign = services.filter((s) => s.labels[LABELS.stackId] !== sw.swarmState?.stackId)
  if (foreign.length > 0) {
    throw new StackctlError(
      `stack '${project}' on ${sw.target.endpoint} is not this stack directory's (${foreign.map((s) => s.name).join(', ')} ${sw.swarmState ? 'carry another stack id' : 'were not deployed from here'})`,
      {exitCode: 2, suggestion: 'pass the --dir it was deployed from; nothing was changed'},
    )
  }
  if (services.length > 0) {
    sw.progress(`docker stack rm ${project}`)
    await sw.managerCli.stackRm(project, {shield: true})
    await waitUntilGone(sw, options)
  }
  const removed: SwarmDownResult['volumes'] = []
  for (const candidate of candidates) {
    let gone = false
    if (options.volumes) {
      await waitForVolumeFree(sw, candidate.node, candidate.name)
      const {exitCode, stderr} = await sw.hostCli.nodeRemoveVolume(candidate.node, candidate.name)
      if (exitCode !== 0 && !/no such volume/i.test(stderr)) {
        const done = removed.filter((v) => v.removed).map((v) => v.name)
        throw new StackctlError(
          `could not delete ${candidate.name} on ${candidate.node}: ${stderr.trim()}${done.length > 0 ? ` (deleted before it: ${done.join(', ')})` : ''}`,
        )
      }
      gone = exitCode === 0
    }
    removed.push({...candidate, removed: gone})
  }
  if (options.volumes && dbNode) await sw.manager.swarm.updateNode(dbNode.id, {labels: {[dbNodeLabel(project)]: null}})
  return {
    target: 'swarm',
    project,
    removed: services.length > 0,
    volume: {
      name: volume,
      node: ha ? '' : (dbNode?.hostname ?? ''),
      removed: removed.length > 0 && removed.every((v) => v.removed),
    },
    volumes: removed,
    seconds: (Date.now() - started) / 1000,
  }
}

/** `stack rm` returns at once; the tasks and the network go a few seconds later. */
async function waitUntilGone(sw: SwarmContext, options: SwarmDownOptions): Promise<void> {
  const {project} = sw.stack.config
  const gone =
    <T>(list: () => Promise<T[]>) =>
    async () => {
      const left = await list()
      return left.length === 0 ? ready(undefined) : waiting(left)
    }
  const outcome = await waitUntil(
    allOf({
      networks: gone(() => sw.manager.swarm.networks(project)),
      tasks: gone(() => sw.manager.swarm.tasks(project)),
    }),
    {timeoutMs: options.timeoutMs ?? 120_000, intervalMs: 500, signal: options.signal, describe: `${project} gone`},
  )
  if (outcome.state === 'ready') return
  if (outcome.state === 'aborted') {
    throw new Interrupted(`stack '${project}' was removed; the swarm is still cleaning up its network`)
  }
  throw new StackctlError(
    `the swarm has not removed the network of '${project}' yet (${(outcome.last.networks ?? []).join(', ')})`,
    {suggestion: `run ${swarmCommand(sw, 'down')} again in a moment`},
  )
}

/** The db container on its node goes a moment after its task: a volume in use cannot be removed. */
async function waitForVolumeFree(sw: SwarmContext, node: string, volume: string): Promise<void> {
  // Not free after a minute: the removal that follows says why (the volume is in use).
  await waitUntil(
    async () => {
      const using = await sw.hostCli.nodeContainersUsing(node, volume)
      return using.length > 0 ? waiting(using) : ready(undefined)
    },
    {timeoutMs: 60_000, intervalMs: 500, describe: `${volume} free on ${node}`},
  )
}
