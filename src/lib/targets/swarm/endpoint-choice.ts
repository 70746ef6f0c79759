/**
 * Which swarm `--target swarm` acts on, in this order: --docker-host; DOCKER_HOST; the local swarm (`stackctl
 * swarm up`) when exactly one is up; the engine itself when it is a swarm manager. Pure: the caller looks up
 * the local swarms and asks the chosen engine whether it manages a swarm.
 */
import {UsageError} from '../../errors.js'

export interface LocalSwarmRef {
  name: string
  /** DOCKER_HOST of its manager (node 1's socket on this machine). */
  endpoint: string
  /** Each node's DOCKER_HOST on this machine, by host name. */
  nodeEndpoints?: Record<string, string>
  /** The 127.0.0.1 port forwarded to node 1's published app port. */
  port: number
  nodes: string[]
}

export interface TargetChoice {
  endpoint: string
  /** Set when the endpoint is a local swarm's manager: its nodes are containers here. */
  local?: LocalSwarmRef
  /** Why this engine, for the user. */
  reason: string
}

export function chooseSwarmTarget(input: {
  dockerHostFlag?: string
  envDockerHost?: string
  localSwarms: readonly LocalSwarmRef[]
  defaultEndpoint: string
}): TargetChoice {
  const local = (endpoint: string) => input.localSwarms.find((s) => s.endpoint === endpoint)
  const named = (endpoint: string, via: string): TargetChoice => {
    const swarm = local(endpoint)
    return {endpoint, local: swarm, reason: `swarm: ${swarm ? `local swarm '${swarm.name}'` : endpoint} (${via})`}
  }
  if (input.dockerHostFlag) return named(input.dockerHostFlag, '--docker-host')
  if (input.envDockerHost) return named(input.envDockerHost, 'DOCKER_HOST')
  if (input.localSwarms.length === 1) {
    const [swarm] = input.localSwarms
    return {endpoint: swarm.endpoint, local: swarm, reason: `swarm: local swarm '${swarm.name}' (stackctl swarm up)`}
  }
  if (input.localSwarms.length > 1) {
    throw new UsageError(
      `${input.localSwarms.length} local swarms are up (${input.localSwarms.map((s) => s.name).join(', ')}): which one?`,
      `pass --docker-host ${input.localSwarms[0].endpoint} (stackctl swarm status --name NAME shows each one's)`,
    )
  }
  return {
    endpoint: input.defaultEndpoint,
    reason: `swarm: this engine, ${input.defaultEndpoint} (no local swarm is up)`,
  }
}
