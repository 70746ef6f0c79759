/**
 * Who holds the stack's host port. Binding it is not enough to tell: an engine started with
 * `--userland-proxy=false` publishes ports through kernel NAT rules, so a port another container publishes
 * is not bound by any host process and binding it succeeds. The engine's own list of published ports is
 * asked as well.
 */
import {DB_PUBLISH_HOST, ENV} from '../model/config/stack-config.js'
import type {Engine, PortBinding} from '../engine/engine.js'
import {answersAt, canBind} from '../engine/net/ports.js'

export type PortUse =
  | {state: 'free'}
  /** This stack's own service publishes it (a running stack, or one being started again). */
  | {state: 'ours'}
  /**
   * Another container publishes it (named), a host process holds it (holder undefined), or nothing here binds
   * or publishes it yet a connection is answered (forwarded: another engine's container, a rule left behind).
   */
  | {state: 'taken'; holder?: string; forwarded?: boolean}

/** Pure: who holds a taken port, for a message: ` by container X`, what forwards it, or nothing known. */
export function takenBy(use: Extract<PortUse, {state: 'taken'}>): string {
  if (use.holder) return ` by container ${use.holder}`
  if (use.forwarded) {
    return ' (it answers, though nothing on this engine publishes it: another engine’s container, e.g. Podman’s, or a forwarding rule left behind)'
  }
  return ''
}

/** Whether two host addresses overlap: a wildcard binding covers every address of its family. */
export function addressesOverlap(a: string, b: string): boolean {
  const wildcard = (ip: string) => ip === '' || ip === '0.0.0.0' || ip === '::'
  return a === b || wildcard(a) || wildcard(b)
}

function publishesOn(binding: PortBinding, host: string, port: number): boolean {
  return binding.hostPort === port && addressesOverlap(binding.hostIp ?? '', host)
}

/** `service`: the stack's service that publishes the port (the app's --port, the db's --db-port). */
export async function portUse(
  engine: Engine,
  target: {host: string; port: number; project: string; service?: string},
): Promise<PortUse> {
  const {host, port, project, service = 'app'} = target
  const bindable = await canBind(host, port)
  const publishers = (await engine.containers.list({publishes: port, runningOnly: true})).filter((c) =>
    c.ports.some((p) => publishesOn(p, host, port)),
  )
  const foreign = publishers.find((c) => !(c.project === project && c.service === service))
  if (foreign) return {state: 'taken', holder: foreign.name}
  // Only this stack's service publishes it: through NAT (bindable) or the userland proxy (bound), it is ours.
  if (publishers.length > 0) return {state: 'ours'}
  if (bindable) return (await answersAt(host, port)) === 'refused' ? {state: 'free'} : {state: 'taken', forwarded: true}
  // Between two restarts of a crashing app the engine lists no running publisher, yet keeps the port reserved
  // for it: the stack's own service, left for inspection by a failed up, must not block the next up. Only
  // when it is configured to publish this very port: the db on its old --db-port does not hold a new one.
  const own = (await engine.containers.list({project})).find((c) => c.service === service)
  if (!own || !['running', 'restarting'].includes(own.state)) return {state: 'taken'}
  const details = await engine.containers.inspect(own.id)
  return details?.configuredHostPorts.includes(port) ? {state: 'ours'} : {state: 'taken'}
}

/** The host ports a stack publishes, with the flag that sets each: what `up` checks before starting. */
export function stackPorts(config: {
  host: string
  port: number
  dbPort: number | undefined
}): Array<{service: string; host: string; port: number; flag: string; env: string}> {
  const ports = [{service: 'app', host: config.host, port: config.port, flag: '--port', env: ENV.port}]
  if (config.dbPort === undefined) return ports
  return [...ports, {service: 'db', host: DB_PUBLISH_HOST, port: config.dbPort, flag: '--db-port', env: ENV.dbPort}]
}
