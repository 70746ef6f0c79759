/**
 * `stackctl doctor --target swarm`: the manager, its nodes, the stack's tasks and, for the HA database, the
 * etcd quorum and the Patroni members. Checks change nothing; one that cannot run says so instead of throwing.
 * The judgements are pure (nodesCheck, tasksCheck here, ha/health.ts), the probes below them.
 */
import type {SwarmNode, SwarmService, SwarmTask} from '../../engine/engine.js'
import {ProcessFailed, StackctlError} from '../../errors.js'
import {type CheckResult, doctorReport, type DoctorReport} from '../../operations/doctor/checks.js'
import {assertManager, managerDocker, swarmCommand, type SwarmContext} from './cluster/context.js'
import {stackProtection} from './cluster/status.js'
import {etcdQuorumCheck, type EtcdMemberHealth, patroniMembersCheck} from './ha/health.js'
import {haExpectedTasks, type HaSettings} from './ha/spec.js'
import {haStatus} from './ha/status.js'
import {NodeShell} from './partition.js'
import {dbNodeLabel} from './db-node.js'
import {protectionCheck} from './protection.js'
import {nodeNames} from './tasks.js'

/**
 * The nodes ready (down: fail), not cut from the others (a partition of verify-persistence --mode partition left
 * in place, local swarm: fail) and active (drained or paused: warn, their pinned tasks cannot run there).
 */
export function nodesCheck(
  nodes: readonly SwarmNode[],
  fixes: {down: string; activate(node: string): string; heal?: string},
  cutOff: ReadonlyArray<{node: string; peers: readonly string[]}> = [],
) {
  if (cutOff.length > 0) {
    const states = nodes.filter((n) => n.state !== 'ready').map((n) => `${n.hostname} is ${n.state}`)
    return {
      name: 'nodes',
      status: 'fail',
      detail: `${cutOff.map((c) => `${c.node} cannot reach the other nodes (stackctl's partition rules drop its traffic to and from ${c.peers.join(', ')}: left by an interrupted verify-persistence --mode partition)`).join('; ')}${states.length ? `; ${states.join(', ')}` : ''}`,
      fix: fixes.heal ?? fixes.down,
    } satisfies CheckResult
  }
  const down = nodes.filter((n) => n.state !== 'ready')
  const inactive = nodes.filter((n) => n.state === 'ready' && n.availability !== 'active')
  const names = nodes.map((n) => n.hostname).join(', ')
  if (down.length > 0) {
    return {
      name: 'nodes',
      status: 'fail',
      detail: `${down.map((n) => `${n.hostname} is ${n.state}`).join(', ')} (${nodes.length - down.length} of ${nodes.length} ready)`,
      fix: fixes.down,
    } satisfies CheckResult
  }
  if (inactive.length > 0) {
    return {
      name: 'nodes',
      status: 'warn',
      detail: `${inactive.map((n) => `${n.hostname} is ${n.availability}`).join(', ')}: no task starts there`,
      fix: inactive.map((n) => fixes.activate(n.hostname)).join(' ; '),
    } satisfies CheckResult
  }
  return {name: 'nodes', status: 'ok', detail: `${nodes.length} ready: ${names}`} satisfies CheckResult
}

/**
 * Every service of the stack with the tasks it must run (the HA members from the stack's settings, so a member
 * scaled to 0 by hand is found too). A stack not deployed is fine, as a Compose stack never started.
 */
export function tasksCheck(
  input: {deployed: boolean; expected: Record<string, number>; running: Record<string, number>},
  fixes: {tasks: string},
): CheckResult {
  if (!input.deployed) return {name: 'stack', status: 'ok', detail: 'not deployed'}
  const short = Object.entries(input.expected).filter(([service, n]) => (input.running[service] ?? 0) < n)
  const counts = Object.entries(input.expected).map(([service, n]) => `${service} ${input.running[service] ?? 0}/${n}`)
  if (short.length === 0) return {name: 'stack', status: 'ok', detail: `every task runs: ${counts.join(', ')}`}
  return {
    name: 'stack',
    status: 'fail',
    detail: `not running: ${short.map(([service, n]) => `${service} ${input.running[service] ?? 0}/${n}`).join(', ')}`,
    fix: fixes.tasks,
  }
}

/**
 * etcd's own /health, asked inside the member's container (the client port is only on the overlay network).
 * Always one JSON line: a refusal or a timeout becomes an unhealthy answer with its reason.
 */
const ETCD_PROBE = [
  'python3',
  '-c',
  [
    'import json, sys, urllib.request as u, urllib.error as e',
    'try: r = u.urlopen("http://127.0.0.1:2379/health", timeout=4).read().decode()',
    'except e.HTTPError as x: r = x.read().decode()',
    'except Exception as x: r = json.dumps({"health": "false", "reason": "no answer on 127.0.0.1:2379: %s" % x, "down": True})',
    'sys.stdout.write(r)',
  ].join('\n'),
]

/** How long one probe may take, how often a member is asked before it counts as down, and the pause between. */
const PROBE_MS = 10_000
const PROBES = 3
const PROBE_PAUSE_MS = 1000

/** The line of a failed probe that says why: docker's own error, not the command it ran. */
function probeError(error: unknown): string {
  if (error instanceof ProcessFailed) {
    return error.stderr.trim().split('\n').filter(Boolean).at(-1) ?? `exit ${error.processExitCode ?? '?'}`
  }
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer within ${PROBE_MS / 1000} s`
  }
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]
}

/**
 * One member's health. An election in progress answers 'leader changed' for a moment (seen under load right
 * after a deploy): a member is down for doctor only when it is not healthy in any of PROBES asks.
 */
async function etcdMemberHealth(
  sw: SwarmContext,
  node: string,
  containerId: string,
): Promise<Pick<EtcdMemberHealth, 'state' | 'problem'>> {
  let last: Pick<EtcdMemberHealth, 'state' | 'problem'> = {state: 'down', problem: 'not asked'}
  for (let ask = 0; ask < PROBES; ask++) {
    if (ask > 0) await new Promise((resolve) => setTimeout(resolve, PROBE_PAUSE_MS))
    try {
      const text = await sw.hostCli.nodeExec(node, containerId, ETCD_PROBE, AbortSignal.timeout(PROBE_MS))
      const answer = JSON.parse(text) as {health?: unknown; reason?: unknown; down?: unknown}
      if (answer.health === 'true' || answer.health === true) return {state: 'healthy'}
      const reason = answer.reason ? String(answer.reason) : 'unhealthy'
      last = answer.down === true ? {state: 'down', problem: reason} : {state: 'unhealthy', problem: reason}
    } catch (error) {
      last = {state: 'down', problem: `no answer (${probeError(error)})`}
    }
  }
  return last
}

async function etcdHealth(
  sw: SwarmContext,
  ha: HaSettings,
  seen: {tasks: SwarmTask[]; nodes: SwarmNode[]},
): Promise<EtcdMemberHealth[]> {
  const project = sw.stack.config.project
  const names = nodeNames(seen.nodes)
  return Promise.all(
    ha.members.map(async (member): Promise<EtcdMemberHealth> => {
      const base = {name: member.etcd, node: member.node}
      const node = seen.nodes.find((n) => n.hostname === member.node)
      if (node && node.state !== 'ready') return {...base, state: 'down', problem: `its node is ${node.state}`}
      const task = seen.tasks.find(
        (t) => t.serviceName === `${project}_${member.etcd}` && t.state === 'running' && t.containerId,
      )
      if (!task) return {...base, state: 'down', problem: 'no running task'}
      return {...base, ...(await etcdMemberHealth(sw, names.get(task.nodeId) ?? member.node, task.containerId!))}
    }),
  )
}

export async function swarmDoctor(sw: SwarmContext): Promise<DoctorReport> {
  const project = sw.stack.config.project
  const ha = sw.swarmState?.ha
  const later = ['nodes', 'stack', ...(ha ? ['etcd', 'patroni'] : [])]
  const protection = (nodes: readonly SwarmNode[]) =>
    protectionCheck(stackProtection(sw, nodes.find((n) => n.labels[dbNodeLabel(project)] === 'true')?.hostname ?? ''))
  try {
    await assertManager(sw)
  } catch (error) {
    const suggestion = error instanceof StackctlError ? error.suggestion : undefined
    return doctorReport([
      {name: 'manager', status: 'fail', detail: probeError(error), ...(suggestion ? {fix: suggestion} : {})},
      ...later.map((name) => ({name, status: 'fail' as const, detail: 'not checked: no swarm manager answered'})),
      protection([]),
    ])
  }
  const [nodes, services, tasks] = await Promise.all([
    sw.manager.swarm.nodes(),
    sw.manager.swarm.services(project),
    sw.manager.swarm.tasks(project),
  ])
  const shell = new NodeShell(sw.hostCli.endpoint)
  const local = sw.target.local
  const cutOff = local
    ? (
        await Promise.all(local.nodes.map(async (node) => ({node, peers: (await shell.partitionOf(node)) ?? []})))
      ).filter((c) => c.peers.length > 0)
    : []
  const checks: CheckResult[] = [
    {
      name: 'manager',
      status: 'ok',
      detail: sw.target.local
        ? `local swarm '${sw.target.local.name}': its manager answers`
        : `${sw.target.endpoint} answers as a swarm manager`,
    },
    nodesCheck(
      nodes,
      {
        down: sw.target.local
          ? `stackctl swarm up --name ${sw.target.local.name}`
          : `${managerDocker(sw, 'node ls')} (start the nodes that are down)`,
        activate: (node) => managerDocker(sw, `node update --availability active ${node}`),
        // swarm up removes the partition rules from every node, then waits for them ready.
        ...(local ? {heal: `stackctl swarm up --name ${local.name}`} : {}),
      },
      cutOff,
    ),
  ]
  const current = tasks.filter((t) => t.desiredState === 'running' && t.state === 'running')
  checks.push(
    tasksCheck(
      {
        deployed: services.length > 0,
        expected: expectedTasks(services, project, ha),
        running: Object.fromEntries(
          services.map((s) => {
            const service = s.name.replace(`${project}_`, '')
            return [service, current.filter((t) => t.serviceName === s.name).length]
          }),
        ),
      },
      {
        tasks: `${managerDocker(sw, `stack ps --no-trunc ${project}`)} (why), then ${swarmCommand(sw, 'up')}`,
      },
    ),
  )
  if (ha && services.length > 0) {
    const service = (name: string) => `${project}_${name}`
    checks.push(
      etcdQuorumCheck(await etcdHealth(sw, ha, {tasks: current, nodes}), (down) =>
        down.map((name) => managerDocker(sw, `service update --force ${service(name)}`)).join(' ; '),
      ),
      patroniMembersCheck(
        await haStatus(sw, ha),
        ha.members.map((m) => m.pg),
        {
          restart: (member) => managerDocker(sw, `service update --force ${service(member)}`),
          logs: (member) => managerDocker(sw, `service logs --tail 50 ${service(member)}`),
          status: swarmCommand(sw, 'status'),
        },
      ),
    )
  }
  checks.push(protection(nodes))
  return doctorReport(checks)
}

/** The single db and the API as deployed; the HA tier's services as its settings say. */
function expectedTasks(services: readonly SwarmService[], project: string, ha: HaSettings | undefined) {
  const expected: Record<string, number> = {}
  // A global service runs one task per eligible node: no count to hold it to.
  for (const s of services) if (s.replicas !== undefined) expected[s.name.replace(`${project}_`, '')] = s.replicas
  if (ha) Object.assign(expected, haExpectedTasks(ha))
  return expected
}
