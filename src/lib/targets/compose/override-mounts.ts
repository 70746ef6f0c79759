/**
 * Host paths an override file bind-mounts into a container that hand the container this machine: the root
 * directory, the Docker socket (control of the engine is root on the host), system directories, the home
 * directory. Pure: the parsed override, the directory relative paths start from and the home directory in,
 * one finding per mount out. A developer may mean it, so it is a warning, not a refusal.
 */
import path from 'node:path'

export interface SensitiveMount {
  service: string
  /** The host path, resolved (relative to the stack directory, ~ to the home directory). */
  source: string
  target: string
  readOnly: boolean
  /** Why it matters, as the end of a sentence. */
  why: string
}

export interface MountContext {
  /** Where Compose resolves relative sources: the stack directory. */
  dir: string
  home: string
}

const SOCKETS = ['/var/run/docker.sock', '/run/docker.sock']
/** Whole trees: a mount of any part of them is sensitive (a read-only file below /etc, like localtime, is not). */
const SYSTEM = ['/etc', '/root', '/boot', '/proc', '/sys', '/dev', '/var/lib/docker']

export function sensitiveMounts(override: unknown, where: MountContext): SensitiveMount[] {
  const services = (override as {services?: Record<string, {volumes?: unknown[]} | null>} | null)?.services ?? {}
  const found: SensitiveMount[] = []
  for (const [service, definition] of Object.entries(services)) {
    for (const entry of Array.isArray(definition?.volumes) ? definition.volumes : []) {
      const mount = bindMount(entry, where)
      if (!mount) continue
      const why = whySensitive(mount.source, mount.readOnly, where.home)
      if (why) found.push({service, ...mount, why})
    }
  }
  return found
}

/** The host path of a bind mount in short ("SRC:DST[:MODE]") or long syntax; undefined for anything else. */
export function bindMount(
  entry: unknown,
  where: MountContext,
): {source: string; target: string; readOnly: boolean} | undefined {
  let source: string | undefined
  let target = ''
  let readOnly = false
  if (typeof entry === 'string') {
    const parts = entry.split(':')
    if (parts.length < 2) return undefined // an anonymous volume
    ;[source, target] = parts
    readOnly = (parts[2] ?? '').split(',').includes('ro')
    if (!/^[/.~$]/.test(source)) return undefined // a named volume
  } else if (entry && typeof entry === 'object') {
    const long = entry as {type?: string; source?: unknown; target?: unknown; read_only?: unknown}
    if (long.type !== 'bind' || typeof long.source !== 'string') return undefined
    source = long.source
    target = typeof long.target === 'string' ? long.target : ''
    readOnly = long.read_only === true || long.read_only === 'true'
  }
  if (source === undefined) return undefined
  const expanded = source.replace(/^(~|\$\{HOME\}|\$HOME)(?=\/|$)/, where.home)
  if (expanded.includes('$')) return undefined // another variable: its value is not known here
  return {source: path.resolve(where.dir, expanded), target, readOnly}
}

function within(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent === '/' ? '/' : `${parent}/`)
}

/** Pure: why a host path is too much to hand a container, or undefined when it is not. */
export function whySensitive(source: string, readOnly: boolean, home: string): string | undefined {
  if (source === '/') return `the container can ${readOnly ? 'read' : 'read and change'} every file of this machine`
  if (SOCKETS.some((socket) => within(socket, source))) {
    const socket = SOCKETS.includes(source) ? 'the Docker socket' : 'it holds the Docker socket, which'
    return `${socket} lets the container control the engine, which is root on this machine`
  }
  const system = SYSTEM.find((dir) => within(dir, source) || (within(source, dir) && !readOnly))
  if (system) return `the container can ${readOnly ? 'read' : 'read and change'} ${system} of this machine`
  if (within(home, source))
    return `the container can ${readOnly ? 'read' : 'read and change'} the home directory ${home}`
  return undefined
}
