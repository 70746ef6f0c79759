/** The HA step's memory, without I/O: `docker stats` rows read, the stack's containers summed by role. */

/** One container's memory as `docker stats` shows it: its node (or the host), its name and its bytes. */
export interface MemoryRow {
  node: string
  name: string
  bytes: number
}

const UNITS: Record<string, number> = {
  B: 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
  kB: 1e3,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
}

/** `12.5MiB / 23.54GiB` (docker stats' MemUsage: use / limit) → the bytes used. */
export function parseMemUsage(text: string): number {
  const match = /^\s*([\d.]+)\s*([KMGT]?i?B|kB)\s*\//.exec(text)
  if (!match || UNITS[match[2]] === undefined) throw new Error(`cannot read a memory use from '${text}'`)
  return Math.round(Number(match[1]) * UNITS[match[2]])
}

/** `docker stats --no-stream --format '{{.Name}}\t{{.MemUsage}}'` → rows, only the names `keep` accepts. */
export function parseStats(node: string, text: string, keep: (name: string) => boolean): MemoryRow[] {
  return text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const [name, usage] = line.split('\t')
      return {node, name: name.trim(), bytes: parseMemUsage(usage ?? '')}
    })
    .filter((row) => keep(row.name))
}

/** What a task's container does, from its swarm name `<project>_<service>.<slot>.<task id>`. */
export function roleOf(project: string, container: string): string {
  const service = container.startsWith(`${project}_`) ? container.slice(project.length + 1).split('.')[0] : ''
  if (/^pg\d+$/.test(service)) return 'PostgreSQL + Patroni'
  if (/^etcd\d+$/.test(service)) return 'etcd'
  if (service === 'router') return 'HAProxy'
  if (service === 'app') return 'API'
  return service || 'other'
}

export interface HaMemory {
  /** Every running container of the HA stack, inside every node. */
  containers: MemoryRow[]
  /** Their sum: what is judged against the target. */
  stackBytes: number
  byRole: Array<{role: string; count: number; bytes: number}>
  /** The node containers as the host's engine sees them (their cgroups). */
  nodes: MemoryRow[]
  nodesBytes: number
}

export function haMemory(project: string, containers: MemoryRow[], nodes: MemoryRow[]): HaMemory {
  const roles = new Map<string, {count: number; bytes: number}>()
  for (const row of containers) {
    const role = roleOf(project, row.name)
    const entry = roles.get(role) ?? {count: 0, bytes: 0}
    roles.set(role, {count: entry.count + 1, bytes: entry.bytes + row.bytes})
  }
  return {
    containers,
    stackBytes: containers.reduce((sum, r) => sum + r.bytes, 0),
    byRole: [...roles.entries()].map(([role, v]) => ({role, ...v})).sort((a, b) => b.bytes - a.bytes),
    nodes,
    nodesBytes: nodes.reduce((sum, r) => sum + r.bytes, 0),
  }
}
