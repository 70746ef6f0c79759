/**
 * The swarm stack file with a highly available database (`--db-replicas 3`): the single-db stack file
 * (render.ts) with its `db` service replaced by three etcd members, three Patroni members (one per node, each
 * pinned with its own node-local volume) and an HAProxy router the API connects to. Pure, golden-tested.
 */
import {isMap, parseDocument} from 'yaml'

import {etcdVolume, type HaSettings, pgVolume, ROUTER_SERVICE} from './spec.js'

export interface HaRenderInput extends HaSettings {
  /** stackctl/patroni:17, or its registry reference. */
  image: string
  /** The stack's id: the etcd cluster token, so members of another stack can never join this one. */
  stackId: string
  /** Patroni's scope (the cluster's name in etcd). */
  scope: string
  /**
   * Members rendered with no task: while the first member takes over a single db's data, the others must not
   * start, or one of them could make a new, empty cluster first (ha/seed.ts).
   */
  held?: readonly string[]
}

const PG_MEMORY = '768M'
const ETCD_MEMORY = '256M'
const ROUTER_MEMORY = '64M'

function pinned(node: string): string[] {
  return [`node.hostname == ${node}`]
}

export function renderHaStack(singleDbStack: string, input: HaRenderInput): string {
  const doc = parseDocument(singleDbStack)
  if (doc.errors.length > 0) throw new Error(`stack file is not valid YAML: ${doc.errors[0].message}`)
  const db = doc.getIn(['services', 'db']) as unknown
  if (!isMap(db)) throw new Error('the stack file has no db service to replace')
  const dbJs = (doc.toJS() as {services: {db: Record<string, unknown>}}).services.db
  const environment = dbJs.environment as Record<string, string>
  const deploy = dbJs.deploy as {labels?: Record<string, string>; endpoint_mode?: string}
  const labels = deploy.labels ?? {}
  const endpointMode = deploy.endpoint_mode ?? 'dnsrr'
  const volumeLabels = doc.getIn(['volumes', 'postgres_data', 'labels']) as unknown
  const logging = dbJs.logging

  const etcdHosts = input.members.map((m) => `${m.etcd}:2379`).join(',')
  const services: Record<string, unknown> = {}
  input.members.forEach((member, i) => {
    services[member.etcd] = {
      image: input.image,
      command: ['etcd'],
      environment: {
        STACKCTL_HA_NAME: member.etcd,
        STACKCTL_HA_PEERS: input.members.map((m) => m.etcd).join(','),
        STACKCTL_HA_TOKEN: input.stackId,
      },
      volumes: [{type: 'volume', source: etcdVolume(i + 1), target: '/var/lib/etcd/data'}],
      stop_grace_period: '15s',
      logging,
      deploy: memberDeploy(member.node, ETCD_MEMORY, endpointMode, labels),
    }
  })
  input.members.forEach((member, i) => {
    services[member.pg] = {
      image: input.image,
      command: ['patroni'],
      environment: {
        STACKCTL_HA_NAME: member.pg,
        STACKCTL_HA_SCOPE: input.scope,
        STACKCTL_HA_ETCD: etcdHosts,
        STACKCTL_HA_DURABILITY: input.durability,
        STACKCTL_DB: environment.POSTGRES_DB,
        // The superuser's (and the replication user's) password: the stack's swarm secret, read from a file.
        POSTGRES_PASSWORD_FILE: environment.POSTGRES_PASSWORD_FILE,
      },
      secrets: dbJs.secrets,
      volumes: [{type: 'volume', source: pgVolume(i + 1), target: '/var/lib/postgresql/data'}],
      // Patroni's /liveness: 200 while its own loop runs. Not /health (200 only while PostgreSQL runs): the swarm
      // kills a task whose check fails, and a member whose PostgreSQL is down on purpose (a woken old leader being
      // demoted, restarted as a replica and rewound; a replica catching up) would be killed mid-way, taking
      // Patroni's decision to rewind with it (seen: the restarted member then asked for its old timeline past the
      // fork for ever). Patroni restarts its own PostgreSQL; readiness is the routers' /primary and status's. The
      // start period covers a member still bootstrapping (etcd's election, initdb, a base backup) on a busy host.
      healthcheck: {
        test: [
          'CMD',
          'python3',
          '-c',
          "import urllib.request as u; u.urlopen('http://127.0.0.1:8008/liveness', timeout=4)",
        ],
        interval: '10s',
        timeout: '5s',
        retries: 6,
        start_period: '300s',
      },
      // Patroni stops PostgreSQL cleanly on SIGTERM (and hands over leadership first when it leads).
      stop_grace_period: '60s',
      logging,
      deploy: memberDeploy(member.node, PG_MEMORY, endpointMode, labels, input.held?.includes(member.pg) ? 0 : 1),
    }
  })
  services[ROUTER_SERVICE] = {
    image: input.image,
    command: ['haproxy'],
    environment: {STACKCTL_HA_MEMBERS: input.members.map((m) => m.pg).join(',')},
    stop_grace_period: '5s',
    logging,
    deploy: {
      replicas: input.members.length,
      endpoint_mode: endpointMode,
      // One router per node: the API finds one on a live node whichever node is lost.
      placement: {max_replicas_per_node: 1},
      update_config: {parallelism: 1, order: 'stop-first'},
      restart_policy: {condition: 'any', delay: '2s'},
      resources: {limits: {memory: ROUTER_MEMORY}},
      labels,
    },
  }

  doc.deleteIn(['services', 'db'])
  const app = doc.getIn(['services', 'app']) as unknown
  if (!isMap(app)) throw new Error('the stack file has no app service')
  doc.setIn(['services', 'app', 'environment', 'POSTGRES_HOST'], ROUTER_SERVICE)
  // The API after the database tier, as the single-db file has it after db.
  const appNode = (doc.contents as {get: (key: string, keep: true) => unknown}).get('services', true)
  if (isMap(appNode)) {
    const appPair = appNode.items.find((pair) => String((pair.key as {value?: unknown})?.value ?? pair.key) === 'app')
    if (appPair) {
      appNode.items = appNode.items.filter((pair) => pair !== appPair)
      for (const [name, value] of Object.entries(services)) appNode.items.push(doc.createPair(name, value))
      appNode.items.push(appPair)
    }
  }
  doc.deleteIn(['volumes', 'postgres_data'])
  input.members.forEach((_, i) => {
    for (const volume of [pgVolume(i + 1), etcdVolume(i + 1)]) {
      doc.setIn(['volumes', volume], doc.createNode({labels: toJs(volumeLabels)}))
    }
  })
  doc.commentBefore = `${doc.commentBefore ?? ''}\n Database: ${input.members.length} Patroni members (${input.durability === 'sync' ? 'synchronous quorum replication, strict' : 'asynchronous replication'}), etcd, HAProxy.`
  return doc.toString({lineWidth: 0})
}

function toJs(node: unknown): unknown {
  return node && typeof node === 'object' && 'toJSON' in node ? (node as {toJSON: () => unknown}).toJSON() : node
}

function memberDeploy(
  node: string,
  memory: string,
  endpointMode: string,
  labels: Record<string, string>,
  replicas = 1,
) {
  return {
    replicas,
    endpoint_mode: endpointMode,
    // Its volume is local to this node: the member always runs there.
    placement: {constraints: pinned(node)},
    update_config: {parallelism: 1, order: 'stop-first'},
    restart_policy: {condition: 'any', delay: '2s'},
    resources: {limits: {memory}},
    labels,
  }
}
