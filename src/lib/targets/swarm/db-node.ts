/**
 * Which node the database runs on. Its volume is local to one node, so once pinned it stays there: a pin is
 * only ever set where none exists, never moved implicitly. Pure.
 */
import type {SwarmNode} from '../../engine/engine.js'
import {UsageError} from '../../errors.js'

/** The node label that pins a project's db, e.g. io.stackctl.db.demo=true. */
export function dbNodeLabel(project: string): string {
  return `io.stackctl.db.${project}`
}

export interface DbNodeChoice {
  node: SwarmNode
  /** kept: already pinned there; pinned: the label is to be set now. */
  action: 'kept' | 'pinned'
  reason: string
}

export function chooseDbNode(input: {
  project: string
  nodes: readonly SwarmNode[]
  /** --db-node, a host name. */
  requested?: string
  /** Nodes that already hold the project's data volume (when that can be seen). */
  holders: readonly string[]
  managerId: string
}): DbNodeChoice {
  const label = dbNodeLabel(input.project)
  const pinned = input.nodes.filter((n) => n.labels[label] === 'true')
  if (pinned.length > 1) {
    throw new UsageError(
      `the db of '${input.project}' is pinned to ${pinned.length} nodes (${pinned.map((n) => n.hostname).join(', ')})`,
      `keep the label ${label}=true on the node that holds the data only (docker node update --label-rm ${label} NODE)`,
    )
  }
  if (pinned.length === 1) {
    const [node] = pinned
    if (input.requested !== undefined && input.requested !== node.hostname) {
      throw new UsageError(
        `the db of '${input.project}' is pinned to ${node.hostname}, where its data volume is; stackctl never moves it`,
        `omit --db-node (or pass --db-node ${node.hostname}); nothing was changed`,
      )
    }
    return {node, action: 'kept', reason: `db node: ${node.hostname} (pinned there by ${label})`}
  }
  if (input.requested !== undefined) {
    const node = input.nodes.find((n) => n.hostname === input.requested)
    if (!node) {
      throw new UsageError(
        `no node '${input.requested}' in the swarm`,
        `use one of: ${input.nodes.map((n) => n.hostname).join(', ')}`,
      )
    }
    const elsewhere = input.holders.filter((h) => h !== node.hostname)
    if (elsewhere.length > 0) {
      throw new UsageError(
        `the data volume of '${input.project}' is on ${elsewhere.join(', ')}, not on ${node.hostname}`,
        `pass --db-node ${elsewhere[0]}, where the data is; nothing was changed`,
      )
    }
    return {node, action: 'pinned', reason: `db node: ${node.hostname} (--db-node)`}
  }
  if (input.holders.length === 1) {
    const node = input.nodes.find((n) => n.hostname === input.holders[0])
    if (node) return {node, action: 'pinned', reason: `db node: ${node.hostname} (its data volume is there)`}
  }
  const manager = input.nodes.find((n) => n.id === input.managerId) ?? input.nodes.find((n) => n.role === 'manager')
  if (!manager) throw new UsageError('the swarm has no manager node to pin the db to', 'pass --db-node NODE')
  return {
    node: manager,
    action: 'pinned',
    reason: `db node: ${manager.hostname} (the manager; pass --db-node to choose)`,
  }
}
