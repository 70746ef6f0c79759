/**
 * A local swarm as data: N dockerd nodes in containers of the host engine, on a bridge network of their own,
 * each with its /var/lib/docker on a named volume. Names, labels and the `docker` argument arrays are built
 * here, pure and unit-tested; engine/docker-cli.ts runs them.
 */
import path from 'node:path'

import {UsageError} from '../../errors.js'

export const SWARM_LABELS = {
  /** The swarm's name, on every container, volume and network of it. */
  swarm: 'io.stackctl.swarm',
  /** The node's number (1 is the manager). */
  node: 'io.stackctl.swarm.node',
  /** The host port of 127.0.0.1 that reaches node 1's published app port. */
  port: 'io.stackctl.swarm.port',
  /** The host path of the node's API socket. */
  socket: 'io.stackctl.swarm.socket',
} as const

export const DEFAULT_SWARM = {name: 'stackctl-swarm', nodes: 3, port: 5000}
export const MAX_NODES = 9
/** Where each node's dockerd puts a second API socket, bind-mounted from the host. */
const SOCKET_DIR_IN_NODE = '/stackctl-run'

export interface LocalSwarmSpec {
  name: string
  nodes: number
  port: number
  /** Host directory holding the nodes' API sockets (node<i>/docker.sock). */
  runDir: string
  image: string
}

const NAME = /^[a-z0-9][a-z0-9-]{0,39}$/

export function validateSwarmName(name: string): string {
  if (!NAME.test(name)) {
    throw new UsageError(
      `invalid swarm name '${name}': lowercase letters, digits and '-', starting with a letter or digit, at most 40`,
      `try --name ${DEFAULT_SWARM.name}`,
    )
  }
  return name
}

export function localSwarmSpec(
  input: {name?: string; nodes?: number; port?: number},
  stateDir: string,
  image: string,
): LocalSwarmSpec {
  const name = validateSwarmName(input.name ?? DEFAULT_SWARM.name)
  const nodes = input.nodes ?? DEFAULT_SWARM.nodes
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > MAX_NODES) {
    throw new UsageError(`invalid node count '${nodes}': from 1 to ${MAX_NODES}`, 'try --nodes 3')
  }
  return {name, nodes, port: input.port ?? DEFAULT_SWARM.port, runDir: path.join(stateDir, 'swarms', name), image}
}

export function nodeName(spec: Pick<LocalSwarmSpec, 'name'>, index: number): string {
  return `${spec.name}-node${index}`
}

export function nodeVolume(spec: Pick<LocalSwarmSpec, 'name'>, index: number): string {
  return `${spec.name}-node${index}-data`
}

export function networkName(spec: Pick<LocalSwarmSpec, 'name'>): string {
  return `${spec.name}-net`
}

export function socketDir(spec: Pick<LocalSwarmSpec, 'runDir'>, index: number): string {
  return path.join(spec.runDir, `node${index}`)
}

export function socketPath(spec: Pick<LocalSwarmSpec, 'runDir'>, index = 1): string {
  return path.join(socketDir(spec, index), 'docker.sock')
}

/** DOCKER_HOST for a node's engine; node 1 is the manager. */
export function managerEndpoint(spec: Pick<LocalSwarmSpec, 'runDir'>, index = 1): string {
  return `unix://${socketPath(spec, index)}`
}

export function nodeIndexes(spec: Pick<LocalSwarmSpec, 'nodes'>): number[] {
  return Array.from({length: spec.nodes}, (_, i) => i + 1)
}

function labelArgs(labels: Record<string, string>): string[] {
  return Object.entries(labels).flatMap(([key, value]) => ['--label', `${key}=${value}`])
}

/**
 * The network, on the subnet given: with a subnet of its own choosing Docker does not let a container keep a
 * fixed address (--ip), and a node must keep its address (see nodeAddress).
 */
export function networkCreateArgs(spec: LocalSwarmSpec, subnet?: string): string[] {
  return [
    'network',
    'create',
    ...labelArgs({[SWARM_LABELS.swarm]: spec.name}),
    ...(subnet ? ['--subnet', subnet] : []),
    networkName(spec),
  ]
}

/** A network created and removed again only to learn which free subnet Docker's address pools hand out. */
export function subnetProbeArgs(spec: LocalSwarmSpec): string[] {
  return ['network', 'create', ...labelArgs({[SWARM_LABELS.swarm]: spec.name}), `${networkName(spec)}-probe`]
}

/**
 * The fixed address of node <index> on the swarm's network (the network address + 10 + index). The swarm
 * keeps its members' addresses: a manager that came back on another address (restarted after its workers,
 * or after something else took the next free one) is never found again by the workers.
 */
export function nodeAddress(subnet: string, index: number): string {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(subnet)
  const octets = match?.slice(1, 5).map(Number) ?? []
  const prefix = Number(match?.[5])
  if (!match || octets.some((o) => o > 255) || prefix > 27 || prefix < 8) {
    throw new Error(`not an IPv4 subnet of at least 32 addresses: '${subnet}'`)
  }
  const base = octets.reduce((n, o) => n * 256 + o, 0)
  const network = base - (base % 2 ** (32 - prefix))
  const address = network + 10 + index
  return [24, 16, 8, 0].map((shift) => Math.floor(address / 2 ** shift) % 256).join('.')
}

export function volumeCreateArgs(spec: LocalSwarmSpec, index: number): string[] {
  return ['volume', 'create', ...labelArgs({[SWARM_LABELS.swarm]: spec.name}), nodeVolume(spec, index)]
}

/**
 * Not --privileged: it needs every capability, and a host whose bounding set lacks CAP_SYS_RESOURCE (as some
 * VMs' do) refuses to start such a container. Every capability but that one, no seccomp/AppArmor filter,
 * writable /proc and /sys paths and all devices is what a nested dockerd needs (its wrapper remounts cgroups).
 */
export const NODE_SECURITY_ARGS = [
  '--cap-add',
  'ALL',
  '--cap-drop',
  'SYS_RESOURCE',
  '--security-opt',
  'seccomp=unconfined',
  '--security-opt',
  'apparmor=unconfined',
  '--security-opt',
  'systempaths=unconfined',
  '--device-cgroup-rule',
  'a *:* rwm',
] as const

export function nodeRunArgs(spec: LocalSwarmSpec, index: number, address?: string): string[] {
  const name = nodeName(spec, index)
  const labels = {
    [SWARM_LABELS.swarm]: spec.name,
    [SWARM_LABELS.node]: String(index),
    [SWARM_LABELS.socket]: socketPath(spec, index),
    ...(index === 1 ? {[SWARM_LABELS.port]: String(spec.port)} : {}),
  }
  const published = index === 1 ? ['--publish', `127.0.0.1:${spec.port}:${spec.port}`] : []
  return [
    'run',
    '--detach',
    ...NODE_SECURITY_ARGS,
    '--name',
    name,
    '--hostname',
    name,
    '--network',
    networkName(spec),
    ...(address ? ['--ip', address] : []),
    '--volume',
    `${nodeVolume(spec, index)}:/var/lib/docker`,
    ...labelArgs(labels),
    ...published,
    '--volume',
    `${socketDir(spec, index)}:${SOCKET_DIR_IN_NODE}`,
    spec.image,
    // The node's API on this machine too: the manager's for deploys, each node's for its volumes.
    '-H',
    'unix:///var/run/docker.sock',
    '-H',
    `unix://${SOCKET_DIR_IN_NODE}/docker.sock`,
  ]
}
