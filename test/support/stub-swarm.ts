/**
 * An in-memory swarm for unit tests of the swarm operations: nodes, services and scripted task lists (one
 * list per poll, the last one repeating). It records the changes asked of it.
 */
import type {NodeAvailability, SwarmClient, SwarmNode, SwarmService, SwarmTask} from '../../src/lib/engine/engine.js'

export function stubTask(fields: Partial<SwarmTask> & Pick<SwarmTask, 'serviceName' | 'state'>): SwarmTask {
  return {
    id: `task-${fields.serviceName}-${fields.slot ?? 1}-${fields.state}`,
    slot: 1,
    nodeId: 'n1',
    desiredState: 'running',
    message: '',
    error: '',
    containerId: undefined,
    updatedAtMs: 0,
    ...fields,
  }
}

export class StubSwarm implements SwarmClient {
  manager = true
  active = true
  nodeList: SwarmNode[] = []
  serviceList: SwarmService[] = []
  /** Each tasks() call takes the next list; the last one repeats. */
  taskPolls: SwarmTask[][] = [[]]
  polls = 0
  readonly changes: string[] = []

  addNode(hostname: string, fields: Partial<SwarmNode> = {}): this {
    this.nodeList.push({
      id: `id-${hostname}`,
      hostname,
      role: 'worker',
      availability: 'active',
      state: 'ready',
      addr: '10.0.0.1',
      labels: {},
      ...fields,
    })
    return this
  }

  async state() {
    return {
      active: this.active,
      manager: this.manager,
      nodeId: this.nodeList.find((n) => n.role === 'manager')?.id ?? '',
    }
  }

  async nodes() {
    return this.nodeList
  }

  async updateNode(id: string, change: {labels?: Record<string, string | null>; availability?: NodeAvailability}) {
    const node = this.nodeList.find((n) => n.id === id)
    if (!node) throw new Error(`no such node ${id}`)
    for (const [key, value] of Object.entries(change.labels ?? {})) {
      if (value === null) delete node.labels[key]
      else node.labels[key] = value
      this.changes.push(`label ${node.hostname} ${key}=${value}`)
    }
    if (change.availability) {
      node.availability = change.availability
      this.changes.push(`availability ${node.hostname} ${change.availability}`)
    }
  }

  async services() {
    return this.serviceList
  }

  async tasks() {
    const list = this.taskPolls[Math.min(this.polls, this.taskPolls.length - 1)]
    this.polls++
    return list
  }

  async secrets() {
    return []
  }

  async removeSecret() {}

  async networks() {
    return []
  }
}
