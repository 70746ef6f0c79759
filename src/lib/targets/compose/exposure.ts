/**
 * What the stack exposes beyond this machine: the API bound to a non-loopback address (remembered from an
 * earlier `--host 0.0.0.0`), an override file that publishes the database's port, or one that bind-mounts a
 * sensitive host path (`/`, the Docker socket, /etc, the home directory; override-mounts.ts) into a container.
 * None is refused — a developer may want it — but `up`, `status` and `doctor` say so every time.
 */
import {parse} from 'yaml'

import {isLoopback} from '../../model/config/stack-config.js'
import {sensitiveMounts, type MountContext} from './override-mounts.js'

/** Pure: the settings and the override file's text (undefined when there is none) → one warning per finding. */
export function exposureWarnings(
  config: {host: string; port: number},
  overrideText: string | undefined,
  where?: MountContext,
): string[] {
  const warnings: string[] = []
  if (!isLoopback(config.host)) {
    warnings.push(
      `the API is published on ${config.host}:${config.port}, reachable from other machines (use --host 127.0.0.1 to keep it local)`,
    )
  }
  if (overrideText === undefined) return warnings
  let override: unknown
  try {
    override = parse(overrideText, {logLevel: 'error'})
  } catch {
    return [...warnings, 'docker-compose.override.yml is not valid YAML; what it publishes could not be checked']
  }
  for (const mount of where ? sensitiveMounts(override, where) : []) {
    warnings.push(
      `docker-compose.override.yml mounts the host's ${mount.source} into ${mount.service}${mount.target ? ` at ${mount.target}` : ''}${mount.readOnly ? ' (read-only)' : ''}: ${mount.why}`,
    )
  }
  const services = (override as {services?: Record<string, {ports?: unknown[]}>} | null)?.services ?? {}
  for (const [service, definition] of Object.entries(services)) {
    for (const port of definition?.ports ?? []) {
      const exposed = describePublished(port)
      if (!exposed) continue
      if (service === 'db') {
        warnings.push(
          `docker-compose.override.yml publishes the database (${exposed}): PostgreSQL is reachable outside the stack`,
        )
      } else if (!exposed.startsWith('127.') && !exposed.startsWith('[::1]')) {
        warnings.push(`docker-compose.override.yml publishes ${service} on ${exposed}, beyond this machine`)
      }
    }
  }
  return warnings
}

/** A Compose port entry (short "HOST:PORT:TARGET" or long form) → "ip:port" as published, or undefined. */
function describePublished(port: unknown): string | undefined {
  if (typeof port === 'number') return `0.0.0.0:(random)->${port}`
  if (typeof port === 'string') {
    const parts = port.split(':')
    if (parts.length === 1) return `0.0.0.0:(random)->${parts[0]}`
    if (parts.length === 2) return `0.0.0.0:${parts[0]}`
    return `${parts.slice(0, -2).join(':')}:${parts.at(-2)}`
  }
  if (port && typeof port === 'object') {
    const {host_ip: hostIp, published} = port as {host_ip?: string; published?: string | number}
    return `${hostIp ?? '0.0.0.0'}:${published ?? '(random)'}`
  }
  return undefined
}
