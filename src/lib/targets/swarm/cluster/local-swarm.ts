/**
 * `stackctl swarm up | status | down`: a swarm of dockerd nodes in containers of this machine's engine. Every
 * container, volume and the network carry io.stackctl.swarm=<name>; only what carries it is ever removed.
 * Node 1 is the manager: its API is a socket in stackctl's state directory and its published app port is
 * forwarded to 127.0.0.1.
 */
import {rm} from 'node:fs/promises'

import createDebug from 'debug'

import {buildImages} from '../../../engine/images/builder.js'
import {IMAGE_SPECS, imageReference} from '../../../engine/images/image-specs.js'
import type {ContainerSummary, Engine, SwarmNode} from '../../../engine/engine.js'
import type {EngineFactory} from '../../../engine/factory.js'
import {swarmUnsupported} from '../../../engine/capabilities.js'
import {checkInterrupted} from '../../../cli/interrupt.js'
import {EnvironmentError, Interrupted, StackctlError, UsageError} from '../../../errors.js'
import {ensureRealDirectory} from '../../../model/stackdir/files.js'
import {canBind} from '../../../engine/net/ports.js'
import {LABELS} from '../../../model/config/labels.js'
import {DockerCli} from '../../../engine/docker-cli.js'
import {
  localSwarmSpec,
  managerEndpoint,
  networkCreateArgs,
  nodeAddress,
  nodeIndexes,
  nodeName,
  nodeRunArgs,
  SWARM_LABELS,
  socketDir,
  subnetProbeArgs,
  volumeCreateArgs,
  type LocalSwarmSpec,
} from '../local-spec.js'
import type {LocalSwarmRef} from '../endpoint-choice.js'
import {stateDirectory} from '../../../stack/lock.js'
import {NodeShell} from '../partition.js'
import {ready, waitUntil, waiting} from '../../../engine/wait/wait-until.js'

const debug = createDebug('stackctl:swarm')
const NODE_IMAGE = imageReference(IMAGE_SPECS['swarm-node'])

export interface SwarmNodeStatus {
  name: string
  container: string
  address: string
  role: string
  availability: string
  state: string
  /** Node labels stackctl set (the db pins). */
  labels: Record<string, string>
}

export interface LocalSwarmStatus {
  name: string
  up: boolean
  endpoint: string
  url: string
  port: number
  nodes: SwarmNodeStatus[]
}

export interface SwarmUpResult extends LocalSwarmStatus {
  created: boolean
  /** Its nodes were stopped (a host or engine restart) and this run started them again. */
  restarted: boolean
  /**
   * Nodes that were cut from the others (the partition rules of an interrupted verify-persistence --mode
   * partition) and that this run healed.
   */
  partitionsHealed: string[]
  seconds: number
}

export interface SwarmDownResult {
  name: string
  removed: {containers: string[]; volumes: string[]; networks: string[]}
  /** Stack data volumes that were inside the nodes and went with them (only with --force or a confirmation). */
  dataVolumes: string[]
  /** Nodes that were stopped or did not answer, removed (only with --force or a confirmation) unread. */
  unreadable: string[]
}

/** The host engine: DOCKER_HOST, unless it points at a local swarm's manager (then the default socket). */
export function hostEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const swarms = `${stateDirectory(env)}/swarms/`
  return env.DOCKER_HOST?.startsWith(`unix://${swarms}`) ? {...env, DOCKER_HOST: undefined} : env
}

export function hostEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  return hostEnv(env).DOCKER_HOST || 'unix:///var/run/docker.sock'
}

/** The local swarms whose manager container runs, from their labels. */
export async function listLocalSwarms(host: Engine): Promise<LocalSwarmRef[]> {
  const containers = await host.containers.list({label: SWARM_LABELS.swarm})
  const byName = new Map<string, LocalSwarmRef>()
  for (const c of containers) {
    const name = c.labels[SWARM_LABELS.swarm]
    const swarm: LocalSwarmRef = byName.get(name) ?? {name, endpoint: '', port: 0, nodes: [], nodeEndpoints: {}}
    swarm.nodes.push(c.name)
    if (c.labels[SWARM_LABELS.socket]) swarm.nodeEndpoints![c.name] = `unix://${c.labels[SWARM_LABELS.socket]}`
    if (c.labels[SWARM_LABELS.node] === '1' && c.state === 'running') {
      swarm.endpoint = `unix://${c.labels[SWARM_LABELS.socket]}`
      swarm.port = Number(c.labels[SWARM_LABELS.port])
    }
    byName.set(name, swarm)
  }
  return [...byName.values()].filter((s) => s.endpoint).map((s) => ({...s, nodes: s.nodes.sort()}))
}

export async function swarmUp(
  input: {name?: string; nodes?: number; port?: number},
  options: {progress: (line: string) => void; signal?: AbortSignal; env?: NodeJS.ProcessEnv; engines: EngineFactory},
): Promise<SwarmUpResult> {
  const started = Date.now()
  const env = hostEnv(options.env)
  const spec = localSwarmSpec(input, stateDirectory(env), NODE_IMAGE)
  const host = options.engines.host(env)
  await host.ping()
  const unsupported = swarmUnsupported(await host.describe())
  if (unsupported) {
    throw new EnvironmentError(
      `cannot start a local swarm on ${host.endpoint}: ${unsupported}`,
      'run it on a rootful Docker engine (DOCKER_HOST=unix:///var/run/docker.sock stackctl swarm up); on this engine the stack runs with Compose: stackctl up',
    )
  }
  const cli = options.engines.cli(hostEndpoint(env))
  const existing = await host.containers.list({label: `${SWARM_LABELS.swarm}=${spec.name}`})
  if (existing.length > 0) {
    let status = await swarmStatus(spec.name, {env, engines: options.engines})
    // A --nodes or --port that contradicts the swarm is refused before anything changes.
    refuseContradictions(spec.name, input, existing, status)
    const partitionsHealed = await healPartitions(spec, existing, {cli, ...options})
    if (partitionsHealed.length > 0) status = await swarmStatus(spec.name, {env, engines: options.engines})
    if (existingSwarmAction(spec.name, input, existing, status) === 'restart') {
      await restartNodes(spec, existing, {cli, host, ...options})
      status = await swarmStatus(spec.name, {env, engines: options.engines})
      return {...status, created: false, restarted: true, partitionsHealed, seconds: (Date.now() - started) / 1000}
    }
    if (partitionsHealed.length === 0) options.progress(`swarm '${spec.name}' is already up`)
    return {...status, created: false, restarted: false, partitionsHealed, seconds: (Date.now() - started) / 1000}
  }
  if (!(await canBind('127.0.0.1', spec.port))) {
    throw new EnvironmentError(`port ${spec.port} on 127.0.0.1 is already in use`, 'choose another with --port')
  }
  options.progress(`node image: ${NODE_IMAGE}`)
  await buildImages({only: 'swarm-node', engine: host, docker: cli, progress: options.progress})

  try {
    await createNodes(spec, cli, options)
    await formSwarm(spec, cli, options)
  } catch (error) {
    // A swarm that did not come up holds nothing yet, and nothing carried its label before this run (checked
    // above): everything labelled with it now was created by this run, even by a step stopped half-way.
    options.progress(`removing what this run created for swarm '${spec.name}'`)
    await removeLabelled(cli, host, spec.name)
    if (options.signal?.aborted) {
      throw new Interrupted(`swarm '${spec.name}' was not created; what this run had created was removed`)
    }
    throw error
  }
  const status = await swarmStatus(spec.name, {env, engines: options.engines})
  return {...status, created: true, restarted: false, partitionsHealed: [], seconds: (Date.now() - started) / 1000}
}

/**
 * Removes the partition rules (partition.ts) from every running node that has them, then waits until the
 * manager sees every node ready again. Returns the nodes healed.
 */
async function healPartitions(
  spec: LocalSwarmSpec,
  existing: readonly ContainerSummary[],
  options: {cli: DockerCli; engines: EngineFactory; progress: (line: string) => void; signal?: AbortSignal},
): Promise<string[]> {
  const shell = new NodeShell(options.cli.endpoint)
  const running = existing.filter((c) => c.state === 'running')
  const cut = (
    await Promise.all(running.map(async (c) => ({node: c.name, peers: (await shell.partitionOf(c.name)) ?? []})))
  ).filter((c) => c.peers.length > 0)
  for (const {node, peers} of cut) {
    options.progress(`${node} was cut from the other nodes (${peers.join(', ')}): removing stackctl's partition rules`)
    await shell.heal(node)
  }
  if (cut.length === 0) return []
  // Stopped nodes too: they are started (and waited for) by restartNodes, after this.
  if (running.length < existing.length) return cut.map((c) => c.node)
  await waitForReadyNodes(options.engines.at(managerEndpoint(spec)), spec, existing.length, options.signal)
  options.progress(
    `partition healed: ${cut.map((c) => c.node).join(', ')} can reach the other nodes; every node is ready`,
  )
  return cut.map((c) => c.node)
}

/**
 * What `swarm up` does with a swarm whose containers exist: start its stopped nodes again, or nothing (already
 * up). It refuses a --nodes or --port that contradicts the swarm, and a swarm running but not fully up.
 */
export function existingSwarmAction(
  name: string,
  input: {nodes?: number; port?: number},
  existing: ReadonlyArray<Pick<ContainerSummary, 'state'>>,
  status: Pick<LocalSwarmStatus, 'up' | 'port' | 'nodes'>,
): 'restart' | 'up' {
  refuseContradictions(name, input, existing, status)
  if (!status.up && existing.some((c) => c.state !== 'running')) return 'restart'
  if (status.up) return 'up'
  throw new EnvironmentError(
    `swarm '${name}' is running but not fully up (${status.nodes.filter((n) => n.state === 'ready').length} of ${existing.length} nodes ready)`,
    `see stackctl swarm status --name ${name} and docker logs ${nodeName({name}, 1)}; a node that has just started needs a few seconds`,
  )
}

/** A --nodes or --port that contradicts an existing swarm: a usage error. */
function refuseContradictions(
  name: string,
  input: {nodes?: number; port?: number},
  existing: ReadonlyArray<unknown>,
  status: Pick<LocalSwarmStatus, 'port'>,
): void {
  if (input.nodes !== undefined && input.nodes !== existing.length) {
    throw new UsageError(
      `swarm '${name}' has ${existing.length} nodes; --nodes ${input.nodes} cannot change that`,
      `run stackctl swarm up --name ${name} without --nodes, or choose another --name for a new swarm`,
    )
  }
  if (input.port !== undefined && status.port !== 0 && input.port !== status.port) {
    throw new UsageError(
      `swarm '${name}' forwards port ${status.port}; --port ${input.port} cannot change that`,
      `run stackctl swarm up --name ${name} without --port, or choose another --name for a new swarm`,
    )
  }
}

async function createNodes(
  spec: LocalSwarmSpec,
  cli: DockerCli,
  options: {progress: (line: string) => void; signal?: AbortSignal},
): Promise<void> {
  const {signal} = options
  for (const i of nodeIndexes(spec)) await ensureRealDirectory(socketDir(spec, i), 0o700)
  // Each create runs to its end and the signal is answered between them: a `docker … create` (or `run -d`)
  // killed by Ctrl-C can still be carried out by the engine after the undo listed what carries the swarm's label,
  // and what it made was then left behind (seen once: the subnet probe's network).
  const subnet = await freeSubnet(spec, cli)
  checkInterrupted(signal, 'before the network')
  await cli.createNetwork(networkCreateArgs(spec, subnet))
  for (const i of nodeIndexes(spec)) {
    checkInterrupted(signal, 'before the volumes')
    await cli.createVolume(volumeCreateArgs(spec, i))
  }
  options.progress(
    `starting ${spec.nodes} node containers (${nodeIndexes(spec)
      .map((i) => nodeName(spec, i))
      .join(', ')})`,
  )
  for (const i of nodeIndexes(spec)) {
    checkInterrupted(signal, 'before the node containers')
    await cli.runContainer(nodeRunArgs(spec, i, nodeAddress(subnet, i)))
  }
  await Promise.all(nodeIndexes(spec).map((i) => waitForDockerd(cli, nodeName(spec, i), signal)))
  options.progress('every node’s dockerd answers')
}

/** A subnet Docker's address pools have free now: the one it gives a probe network, removed again at once. */
async function freeSubnet(spec: LocalSwarmSpec, cli: DockerCli): Promise<string> {
  const args = subnetProbeArgs(spec)
  const probe = args.at(-1)!
  // Not stopped half-way (see createNodes): a signal meanwhile is answered after it, with the probe removed.
  await cli.createNetwork(args)
  try {
    const subnet = firstIPv4Subnet((await cli.networkSubnets(probe)).join(' '))
    if (!subnet)
      throw new EnvironmentError(`Docker gave the network ${probe} no IPv4 subnet`, 'see docker network inspect')
    return subnet
  } finally {
    await cli.removeNetwork(probe, {reject: false})
  }
}

/** The first IPv4 subnet among a network's subnets (it may list an IPv6 one too). */
export function firstIPv4Subnet(subnets: string): string | undefined {
  return subnets.split(/\s+/).find((s) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(s))
}

/**
 * Starts the stopped node containers of an existing swarm (after a host or engine restart, or docker stop):
 * node 1 first, as the manager the others rejoin. Their volumes, and every stack's data in them, are as they
 * were. If the nodes do not come back (or on Ctrl-C), the ones this run started are stopped again.
 */
async function restartNodes(
  spec: LocalSwarmSpec,
  existing: ContainerSummary[],
  options: {
    cli: DockerCli
    host: Engine
    engines: EngineFactory
    progress: (line: string) => void
    signal?: AbortSignal
  },
): Promise<void> {
  const {cli, signal} = options
  const {byIndex, stopped} = restartOrder(existing)
  options.progress(`starting the stopped nodes of swarm '${spec.name}': ${stopped.map((c) => c.name).join(', ')}`)
  const started: string[] = []
  try {
    for (const c of stopped) {
      await ensureRealDirectory(socketDir(spec, nodeIndex(c)), 0o700)
      await cli.start(c.name, {signal})
      started.push(c.name)
    }
    await Promise.all(byIndex.map((c) => waitForDockerd(cli, c.name, signal)))
    options.progress('every node’s dockerd answers')
    await waitForReadyNodes(options.engines.at(managerEndpoint(spec)), spec, byIndex.length, signal)
    options.progress(
      `swarm '${spec.name}' is up again with ${byIndex.length} ready nodes; its data volumes are as they were`,
    )
  } catch (error) {
    if (started.length > 0) {
      options.progress(`stopping the nodes this run started again: ${started.join(', ')}`)
      await Promise.all(started.map((name) => cli.stop(name)))
    }
    if (signal?.aborted) {
      throw new Interrupted(
        `swarm '${spec.name}' was not restarted; its nodes are stopped as they were, their data untouched`,
      )
    }
    throw error
  }
}

/** Every node by its number, and the stopped ones to start in that order: node 1, the manager, first. */
export function restartOrder<C extends Pick<ContainerSummary, 'state' | 'labels'>>(
  existing: readonly C[],
): {byIndex: C[]; stopped: C[]} {
  const byIndex = [...existing].sort((a, b) => nodeIndex(a) - nodeIndex(b))
  return {byIndex, stopped: byIndex.filter((c) => c.state !== 'running')}
}

function nodeIndex(container: Pick<ContainerSummary, 'labels'>): number {
  return Number(container.labels[SWARM_LABELS.node])
}

async function waitForDockerd(cli: DockerCli, node: string, signal?: AbortSignal): Promise<void> {
  const outcome = await waitUntil(
    async () => {
      return (await cli.nodeAnswers(node, signal)) ? ready(undefined) : waiting(undefined)
    },
    {timeoutMs: 120_000, intervalMs: 500, signal, describe: `the dockerd in ${node}`},
  )
  if (outcome.state === 'ready') return
  if (outcome.state === 'aborted') throw new Interrupted(`the dockerd in ${node} was starting`)
  const stdout = await cli.logsTail(node, 5)
  throw new EnvironmentError(
    `the dockerd in ${node} did not answer within 120 s: ${stdout.split('\n').at(-1) ?? ''}`,
    `see docker logs ${node}; the host must allow nested containers (SWARM caveats in the README)`,
  )
}

async function formSwarm(
  spec: LocalSwarmSpec,
  cli: DockerCli,
  options: {progress: (line: string) => void; signal?: AbortSignal; engines: EngineFactory},
): Promise<void> {
  const {signal} = options
  const manager = nodeName(spec, 1)
  await cli.swarmInit(manager, signal)
  const token = await cli.swarmWorkerToken(manager, signal)
  const address = await cli.containerAddress(manager)
  await Promise.all(
    nodeIndexes(spec)
      .slice(1)
      .map((i) => cli.swarmJoin(nodeName(spec, i), token, `${address}:2377`, signal)),
  )
  await waitForReadyNodes(options.engines.at(managerEndpoint(spec)), spec, spec.nodes, signal)
  options.progress(`swarm formed: ${manager} manager, ${spec.nodes - 1} workers`)
}

/** Waits until the manager reports every node ready (60 s). */
async function waitForReadyNodes(
  engine: Engine,
  spec: LocalSwarmSpec,
  count: number,
  signal?: AbortSignal,
): Promise<void> {
  const outcome = await waitUntil(
    async () => {
      const nodes = await engine.swarm.nodes()
      return nodes.length === count && nodes.every((n) => n.state === 'ready') ? ready(nodes) : waiting(nodes)
    },
    {
      timeoutMs: 60_000,
      intervalMs: 500,
      signal,
      describe: `${count} ready nodes`,
      // The manager answers only once its swarm is initialised: until then, as good as no nodes.
      probeError: (error: unknown) => {
        debug('nodes: %s', (error as Error).message)
        return []
      },
    },
  )
  if (outcome.state === 'ready') return
  if (outcome.state === 'aborted') throw new Interrupted('swarm not formed')
  const nodes = outcome.last
  throw new EnvironmentError(
    `the swarm did not report ${count} ready nodes within 60 s (${nodes.map((n) => `${n.hostname} ${n.state}`).join(', ')})`,
    `see docker logs ${nodeName(spec, 1)}`,
  )
}

export async function swarmStatus(
  name: string,
  options: {env?: NodeJS.ProcessEnv; engines: EngineFactory},
): Promise<LocalSwarmStatus> {
  const env = hostEnv(options.env)
  const spec = localSwarmSpec({name}, stateDirectory(env), NODE_IMAGE)
  const host = options.engines.host(env)
  await host.ping()
  const cli = options.engines.cli(hostEndpoint(env))
  const containers = await host.containers.list({label: `${SWARM_LABELS.swarm}=${spec.name}`})
  const manager = containers.find((c) => c.labels[SWARM_LABELS.node] === '1')
  const port = Number(manager?.labels[SWARM_LABELS.port] ?? 0)
  let swarmNodes: SwarmNode[] = []
  if (manager?.state === 'running') {
    swarmNodes = await options.engines
      .at(managerEndpoint(spec))
      .swarm.nodes()
      .catch((error: unknown) => {
        debug('nodes: %s', (error as Error).message)
        return []
      })
  }
  const nodes = await Promise.all(
    containers
      .sort((a, b) => Number(a.labels[SWARM_LABELS.node]) - Number(b.labels[SWARM_LABELS.node]))
      .map(async (c) => {
        const node = swarmNodes.find((n) => n.hostname === c.name)
        return {
          name: c.name,
          container: c.state,
          address: c.state === 'running' ? await cli.containerAddress(c.name) : '',
          role: node?.role ?? '',
          availability: node?.availability ?? '',
          state: node?.state ?? 'not in the swarm',
          labels: Object.fromEntries(Object.entries(node?.labels ?? {}).filter(([k]) => k.startsWith('io.stackctl.'))),
        }
      }),
  )
  return {
    name: spec.name,
    up: nodes.length > 0 && nodes.every((n) => n.container === 'running' && n.state === 'ready'),
    endpoint: managerEndpoint(spec),
    url: port ? `http://127.0.0.1:${port}` : '',
    port,
    nodes,
  }
}

/**
 * Removes the node containers, their volumes and the network. The nodes' volumes hold every stack deployed
 * there, data included: when a stackctl data volume is inside, nothing is removed without --force or the
 * typed confirmation.
 */
export async function swarmDown(
  name: string,
  options: {
    force?: boolean
    confirm?: (question: string, expected: string) => Promise<boolean>
    env?: NodeJS.ProcessEnv
    engines: EngineFactory
  },
): Promise<SwarmDownResult> {
  const env = hostEnv(options.env)
  const spec = localSwarmSpec({name}, stateDirectory(env), NODE_IMAGE)
  const host = options.engines.host(env)
  await host.ping()
  const cli = options.engines.cli(hostEndpoint(env))
  const label = `${SWARM_LABELS.swarm}=${spec.name}`
  const containers = await host.containers.list({label})
  const {dataVolumes, unreadable} = await stackDataIn(cli, containers)
  const refusal = swarmDownRefusal(spec.name, {dataVolumes, unreadable})
  if (refusal && !options.force) {
    if (!options.confirm || !(await options.confirm(refusal.question, spec.name))) throw refusal.error
  }
  const removed = await removeLabelled(cli, host, spec.name)
  await rm(spec.runDir, {recursive: true, force: true})
  return {name: spec.name, removed, dataVolumes, unreadable}
}

/**
 * What `swarm down` must ask before removing the nodes (and refuse without --force or a confirmation): the
 * stack data in them, and nodes that could not be asked. A node that is stopped (after a host restart, say) or
 * whose dockerd does not answer cannot be asked what it holds: it is treated as holding data, never as empty.
 */
export function swarmDownRefusal(
  name: string,
  held: {dataVolumes: readonly string[]; unreadable: readonly string[]},
): {question: string; error: StackctlError} | undefined {
  const {dataVolumes, unreadable} = held
  if (dataVolumes.length === 0 && unreadable.length === 0) return undefined
  const holds = [
    ...(dataVolumes.length > 0 ? [`holds stackctl data (${dataVolumes.join(', ')})`] : []),
    ...(unreadable.length > 0 ? [`has nodes whose volumes cannot be read (${unreadable.join(', ')})`] : []),
  ].join(' and ')
  return {
    question: `swarm '${name}' ${holds}; removing the swarm deletes everything in its nodes.`,
    error: new StackctlError(`swarm '${name}' ${holds}; nothing was removed`, {
      exitCode: 2,
      suggestion:
        unreadable.length > 0
          ? `stackctl swarm up --name ${name} starts its stopped nodes again, with their data`
          : `the swarm and that data go only with --force or after typing '${name}' at the prompt in a terminal`,
    }),
  }
}

/** Removes every container, volume and network labelled io.stackctl.swarm=<name>, and nothing else. */
async function removeLabelled(cli: DockerCli, host: Engine, name: string): Promise<SwarmDownResult['removed']> {
  const label = `${SWARM_LABELS.swarm}=${name}`
  const removed: SwarmDownResult['removed'] = {containers: [], volumes: [], networks: []}
  // Once started, removal finishes even on Ctrl-C (shielded): a half-removed swarm helps nobody.
  await Promise.all(
    (await host.containers.list({label})).map(async (c) => {
      await cli.removeContainer(c.name)
      removed.containers.push(c.name)
    }),
  )
  for (const volume of await host.volumes.list(label)) {
    await cli.removeVolume(volume.name)
    removed.volumes.push(volume.name)
  }
  for (const network of await cli.networksLabelled(label)) {
    await cli.removeNetwork(network)
    removed.networks.push(network)
  }
  return removed
}

/**
 * Volumes of stackctl stacks inside the nodes (labelled with a stack id), and the nodes that could not be
 * asked: stopped, or their dockerd not answering.
 */
export async function stackDataIn(
  cli: DockerCli,
  nodes: ReadonlyArray<Pick<ContainerSummary, 'name' | 'state'>>,
): Promise<{dataVolumes: string[]; unreadable: string[]}> {
  const answers = await Promise.all(
    nodes.map(async ({name, state}) => {
      if (state !== 'running') return {name, volumes: undefined}
      return {name, volumes: await cli.nodeVolumesLabelled(name, LABELS.stackId)}
    }),
  )
  return {
    dataVolumes: answers.flatMap(({name, volumes}) => (volumes ?? []).map((v) => `${v} on ${name}`)),
    unreadable: answers.filter(({volumes}) => volumes === undefined).map(({name}) => name),
  }
}

/** The swarm in a few lines: the manager's endpoint, the app port, one line per node. */
export function describeSwarm(status: LocalSwarmStatus): string[] {
  if (status.nodes.length === 0) return [`no local swarm named '${status.name}'`]
  return [
    `manager: ${status.endpoint} (DOCKER_HOST for docker commands on the swarm)`,
    `app port: ${status.url || 'none'} (node 1)`,
    ...status.nodes.map((n) => {
      const labels = Object.entries(n.labels).map(([k, v]) => `${k}=${v}`)
      return `  ${n.name.padEnd(24)} ${n.container.padEnd(8)} ${(n.role || '-').padEnd(8)} ${(n.availability || '-').padEnd(7)} ${n.state.padEnd(6)} ${n.address}${labels.length ? `  ${labels.join(' ')}` : ''}`
    }),
  ]
}
