/**
 * The database's URL for tools on the host (psql, GUIs, ORMs), built from where the running db container
 * actually publishes PostgreSQL: a URL from the settings alone could name a port nothing listens on.
 */
import {DB_CONTAINER_PORT, DB_NAME, DB_USER} from '../../model/config/stack-config.js'
import type {ContainerSummary, PortBinding} from '../../engine/engine.js'

export interface DbAddress {
  host: string
  port: number
}

/** Pure: `postgres://postgres@HOST:PORT/visits`; the password only when it is given (encoded for a URL). */
export function databaseUrl(address: DbAddress, password?: string): string {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host
  const credentials = password === undefined ? DB_USER : `${DB_USER}:${encodeURIComponent(password)}`
  return `postgres://${credentials}@${host}:${address.port}/${DB_NAME}`
}

/**
 * Pure: where a db container's published PostgreSQL port is reached from this machine (IPv4 first; a
 * wildcard binding on loopback), or undefined when it publishes none.
 */
export function publishedDbAddress(ports: readonly PortBinding[]): DbAddress | undefined {
  const published = ports
    .filter((p) => p.containerPort === DB_CONTAINER_PORT && p.hostPort !== undefined && p.hostPort > 0)
    .sort((a, b) => Number((a.hostIp ?? '').includes(':')) - Number((b.hostIp ?? '').includes(':')))
  const [first] = published
  if (!first) return undefined
  const ip = first.hostIp ?? ''
  const host = ip === '' || ip === '0.0.0.0' ? '127.0.0.1' : ip === '::' ? '::1' : ip
  return {host, port: first.hostPort!}
}

/** Pure: the password-free URL of a running db container that publishes PostgreSQL, else null. */
export function publishedDbUrl(db: Pick<ContainerSummary, 'ports'> | undefined): string | null {
  const address = db && publishedDbAddress(db.ports)
  return address ? databaseUrl(address) : null
}
