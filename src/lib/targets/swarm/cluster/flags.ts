/**
 * Flags of the swarm target: `swarm up|status|down` and `--target swarm` on up, down, status and verify. Which
 * flags fit which target is checked once, in src/lib/targets/select.ts.
 */
import {Flags} from '@oclif/core'

import {DEFAULT_SWARM, MAX_NODES} from '../local-spec.js'
import {DURABILITIES, HA_MEMBERS} from '../ha/spec.js'

export const swarmNameFlag = {
  name: Flags.string({
    summary: `Name of the local swarm; prefixes its containers, volumes and network [default: ${DEFAULT_SWARM.name}]`,
    env: 'STACKCTL_SWARM',
  }),
}

export const swarmUpFlags = {
  ...swarmNameFlag,
  nodes: Flags.integer({
    summary: `Number of nodes; node 1 is the manager [default: ${DEFAULT_SWARM.nodes}]`,
    min: 1,
    max: MAX_NODES,
  }),
  port: Flags.integer({
    summary: `Port of 127.0.0.1 forwarded to node 1's published app port; deploy with the same --port [default: ${DEFAULT_SWARM.port}]`,
    min: 1,
    max: 65_535,
  }),
}

export const DEPLOY_TARGETS = ['compose', 'swarm'] as const

export const deployTargetFlag = {
  target: Flags.option({
    options: DEPLOY_TARGETS,
    default: 'compose' as const,
    summary: 'Where the stack runs: Docker Compose on this engine, or a Docker Swarm (docker stack)',
  })(),
}

const helpGroup = 'SWARM'

/** Where a `--target swarm` command finds its swarm. */
export const swarmTargetFlags = {
  'docker-host': Flags.string({
    helpGroup,
    summary: 'A swarm manager to use (like DOCKER_HOST) [default: DOCKER_HOST, the local swarm, this engine]',
  }),
}

export const swarmDeployFlags = {
  ...swarmTargetFlags,
  replicas: Flags.integer({
    helpGroup,
    summary:
      'API replicas [default: what the last deploy used; else one per node on a local swarm with host-mode ports, else 2]',
    min: 1,
    max: 50,
  }),
  'db-node': Flags.string({
    helpGroup,
    summary: 'Node (host name) the database is pinned to [default: the node it is pinned to, else the manager]',
  }),
  registry: Flags.string({
    helpGroup,
    summary: 'HOST:PORT of a registry every node pulls from [default: load the images onto each local node]',
  }),
  'db-replicas': Flags.integer({
    helpGroup,
    summary: `PostgreSQL members: 1 (one db pinned to a node) or ${HA_MEMBERS} (Patroni + etcd, one member per node, failover) [default: what the last deploy used, else 1]`,
    min: 1,
    max: HA_MEMBERS,
  }),
  'db-durability': Flags.option({
    helpGroup,
    options: DURABILITIES,
    summary:
      'With --db-replicas 3: sync acknowledges a visit once it is on 2 members (quorum commit, strict); async is faster and a failover can lose the last visits [default: sync]',
  })(),
}
