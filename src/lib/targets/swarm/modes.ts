/**
 * Which endpoint and port modes a swarm can use. Both VIP service discovery and the ingress routing mesh are
 * IPVS load balancers in the nodes' kernel; without IPVS a VIP resolves but never answers (the app's
 * connections to `db` time out) and a published ingress port resets every connection. Pure.
 */
import type {NetworkModes} from './render.js'

export interface ModeChoice {
  modes: NetworkModes
  /** One line for the user: which modes and why. */
  reason: string
}

export function networkModes(ipvs: boolean): ModeChoice {
  return ipvs
    ? {
        modes: {endpointMode: 'vip', portMode: 'ingress'},
        reason: 'network: VIP + routing mesh (the nodes’ kernel has IPVS); every node answers on the port',
      }
    : {
        modes: {endpointMode: 'dnsrr', portMode: 'host'},
        reason:
          'network: dnsrr + host-mode port (the nodes’ kernel has no IPVS, so VIPs and the routing mesh cannot work); only nodes running an app task answer on the port, one task per node',
      }
}

/** The probe: /proc/net/ip_vs exists in a network namespace exactly when the kernel has IPVS. */
export const IPVS_PROBE = {entrypoint: ['/bin/sh', '-c'], cmd: ['test -e /proc/net/ip_vs']}
