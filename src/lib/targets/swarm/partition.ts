/**
 * A network partition of one node of the local swarm (`verify-persistence --mode partition`): iptables rules
 * inside the node's container drop every packet to and from the other nodes' addresses, in one chain of
 * stackctl's own (STACKCTL-PARTITION) jumped to from INPUT, OUTPUT and FORWARD. The node and its containers keep
 * running — the real split-brain risk, unlike a killed or paused node — while the overlay's VXLAN (UDP 4789), the
 * swarm's gossip and heartbeats, and etcd's and Patroni's traffic to the other nodes stop. The host's own traffic
 * to the node (`docker exec`, node 1's forwarded port) is not from a node's address and passes. Why not
 * `docker network disconnect`: the node would lose its only interface, its address with it (the swarm advertises
 * that address), and every container's route out; a reconnect is a new interface, not a healed link.
 *
 * The rules live in the node container's network namespace only (never the host's); removing the chain heals
 * the partition, and so does removing the node. `swarm up` and `doctor --target swarm` find a chain left behind
 * (a CLI killed mid-check) with PARTITION_PROBE. The scripts are pure; NodeShell runs them.
 */
import {DockerCli, type DockerCliOptions} from '../../engine/docker-cli.js'

export const PARTITION_CHAIN = 'STACKCTL-PARTITION'
const HOOKS = ['INPUT', 'OUTPUT', 'FORWARD'] as const

function ipv4(address: string): string {
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) throw new Error(`not an IPv4 address: '${address}'`)
  return address
}

/** The shell script that cuts a node from `peers` (idempotent: run twice, the same rules once). */
export function cutScript(peers: readonly string[]): string {
  if (peers.length === 0) throw new Error('a partition needs at least one peer address to cut')
  const c = PARTITION_CHAIN
  return [
    'set -e',
    `iptables -w -N ${c} 2>/dev/null || iptables -w -F ${c}`,
    ...peers.flatMap((peer) => [
      `iptables -w -A ${c} -s ${ipv4(peer)} -j DROP`,
      `iptables -w -A ${c} -d ${ipv4(peer)} -j DROP`,
    ]),
    ...HOOKS.map((hook) => `iptables -w -C ${hook} -j ${c} 2>/dev/null || iptables -w -I ${hook} 1 -j ${c}`),
  ].join('\n')
}

/** The shell script that heals it: the jumps and the chain removed; exits 0 only when no chain is left. */
export function healScript(): string {
  const c = PARTITION_CHAIN
  return [
    ...HOOKS.map((hook) => `while iptables -w -D ${hook} -j ${c} 2>/dev/null; do :; done`),
    `iptables -w -F ${c} 2>/dev/null || :`,
    `iptables -w -X ${c} 2>/dev/null || :`,
    `! iptables -w -S ${c} >/dev/null 2>&1`,
  ].join('\n')
}

/** Prints the chain's rules, or nothing when there is none (always exit 0). */
export const PARTITION_PROBE = `iptables -w -S ${PARTITION_CHAIN} 2>/dev/null || :`

/** The addresses a probe's output says the node is cut from; empty when no partition is in place. */
export function partitionedPeers(probeOutput: string): string[] {
  const peers = new Set<string>()
  for (const line of probeOutput.split('\n')) {
    const match = new RegExp(`^-A ${PARTITION_CHAIN} -[sd] (\\S+?)(?:/32)? -j DROP$`).exec(line.trim())
    if (match) peers.add(match[1])
  }
  const inPlace = probeOutput.split('\n').some((line) => line.trim() === `-N ${PARTITION_CHAIN}`)
  return inPlace ? [...peers] : []
}

/** `sh -c` in a node container of the local swarm itself (not in a container inside it). */
export class NodeShell extends DockerCli {
  async sh(node: string, script: string, options: DockerCliOptions = {}): Promise<string> {
    return (await this.run(['exec', node, 'sh', '-c', script], {timeoutMs: 60_000, ...options})).stdout
  }

  /** The peers a node is cut from (empty: none, or no chain); undefined when the node could not be asked. */
  async partitionOf(node: string, signal?: AbortSignal): Promise<string[] | undefined> {
    try {
      return partitionedPeers(await this.sh(node, PARTITION_PROBE, {signal, timeoutMs: 20_000}))
    } catch {
      return undefined
    }
  }

  async cut(node: string, peers: readonly string[], signal?: AbortSignal): Promise<void> {
    await this.sh(node, cutScript(peers), {signal})
  }

  /** Out of the terminal's process group: a second Ctrl-C does not stop the heal half-way. */
  async heal(node: string): Promise<void> {
    await this.sh(node, healScript(), {shield: true})
  }
}
