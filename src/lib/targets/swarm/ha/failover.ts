/**
 * `verify-persistence --target swarm --mode failover` on the HA database: visits are written through the API
 * while the leader's whole node container is SIGKILLed (`docker kill`, a crashed machine); Patroni promotes a
 * synchronous standby, the node is started again and the old leader must rejoin as a replica on the new
 * timeline. `--mode pause` freezes the node instead (`docker pause`, a machine that hangs): its leader key
 * expires, another member takes over, and the node is unpaused only then, so the old leader wakes up believing
 * it still leads, with its sessions and the routers' checks of it resuming, until Patroni demotes it. The pipeline then checks every acknowledged visit (acknowledged ⊆ final) and the count of new rows
 * against the attempts (final ⊆ attempted).
 *
 * STACKCTL_VERIFY_STALL_REPLICATION=1 adds the fault of the negative control: the leader's WAL senders are
 * stopped (SIGSTOP) before the kill, so the replicas miss the last commits. With synchronous replication those
 * commits are never acknowledged (nothing is lost); with --db-durability async they are, and the set check must
 * report them. (Pausing the replicas instead loses nothing: the WAL already sent waits in their kernel's socket
 * buffers and is read when they resume.)
 */
import {DB_OS_USER} from '../../../model/config/stack-config.js'
import {StackctlError} from '../../../errors.js'
import type {FailoverReport} from '../../../operations/verify/result.js'
import {VisitWriter, type WriteResult} from '../../../operations/verify/load.js'
import type {Disruption} from '../../../operations/verify/verify.js'
import type {SwarmContext} from '../cluster/context.js'
import {nodeName} from '../local-spec.js'
import {NodeShell} from '../partition.js'
import {nodeNames} from '../tasks.js'
import {isLeader} from './members.js'
import {writeOutage, type WriteOutcome} from './outage.js'
import {haStatus, type HaStatus} from './status.js'
import {runSwitchover, waitForSwitchoverPlan} from './switchover.js'
import {swarmCommand} from '../cluster/context.js'
import type {HaSettings} from './spec.js'

export const STALL_ENV = 'STACKCTL_VERIFY_STALL_REPLICATION'

/**
 * --mode partition's negative control: the cut-off old leader's Patroni is stopped (SIGSTOP) right after the cut,
 * so nothing demotes its PostgreSQL, which stays a primary beside the new leader: the check must report it.
 */
export const FREEZE_PATRONI_ENV = 'STACKCTL_VERIFY_FREEZE_OLD_LEADER_PATRONI'

/**
 * SIGSTOP or SIGCONT to every process of the member whose cmdline has `match`: the WAL senders of its PostgreSQL
 * (`walsender`), or its Patroni (`/usr/bin/patroni`: the worker; PID 1, its reaper, ignores a signal from inside).
 */
function processSignal(match: 'walsender' | '/usr/bin/patroni', signal: 'SIGSTOP' | 'SIGCONT'): string[] {
  return [
    'python3',
    '-c',
    `import os, signal\nfor p in filter(str.isdigit, os.listdir('/proc')):\n  try:\n    if int(p) not in (1, os.getpid()) and b'${match}' in open('/proc/%s/cmdline' % p, 'rb').read(): os.kill(int(p), signal.${signal}); print(p)\n  except OSError: pass`,
  ]
}

const FAULT_VERB = {kill: 'failover kills', pause: 'pause freezes', partition: 'partition cuts'} as const

/**
 * Whether the member's PostgreSQL itself takes writes now: it accepts a connection and is not in recovery ('t').
 * Asked over its Unix socket as the postgres user (run as DB_OS_USER), whatever Patroni or the store says (Patroni
 * still calls a member 'primary' while it demotes it, with its PostgreSQL already shutting down and refusing
 * connections).
 */
const ACCEPTS_WRITES_PROBE = [
  'env',
  'PGCONNECT_TIMEOUT=5',
  'psql',
  '-h',
  '/var/run/postgresql',
  '-d',
  'postgres',
  '-XAtc',
  'select not pg_is_in_recovery()',
]

/** Visits written until stopped, each outcome with its time (writeOutage reads them). */
function timedWriter(url: string, concurrency: number): {writer: VisitWriter; outcomes: WriteOutcome[]} {
  const outcomes: WriteOutcome[] = []
  const writer = new VisitWriter({
    url,
    visits: Number.MAX_SAFE_INTEGER,
    concurrency,
    requestTimeoutMs: 15_000,
    onOutcome: (ok) => outcomes.push({atMs: Date.now(), ok}),
  })
  return {writer, outcomes}
}

/**
 * Visits written through the API around a fault: half the visits first, then `fault` while the clients keep
 * writing, then the writer stops and `afterwards` runs (a killed node started again). The write outage is the
 * longest time from the fault's start with no write acknowledged (outage.ts).
 */
async function writeThroughFault<T>(
  url: string,
  load: {visits: number; concurrency: number},
  fault: (writer: VisitWriter) => Promise<T>,
  afterwards?: () => Promise<void>,
): Promise<{written: WriteResult; value: T; outageSeconds: number | null}> {
  const {writer, outcomes} = timedWriter(url, load.concurrency)
  const running = writer.run()
  let faultAt = Date.now()
  let stoppedAt = Date.now()
  let value: T
  try {
    await writer.until((s) => s.acknowledged >= Math.ceil(load.visits / 2))
    faultAt = Date.now()
    value = await fault(writer)
  } finally {
    writer.stop()
    stoppedAt = Date.now()
    await afterwards?.()
  }
  const written = await running
  return {written, value, outageSeconds: writeOutage(outcomes, faultAt, stoppedAt)}
}

/**
 * What a handover must end with: the old leader a replica on the new timeline, never two leaders at once. With
 * --mode partition, `cutOff` says the cut-off old leader's PostgreSQL still took writes as a primary meanwhile
 * (the split brain the check exists for), which is named as such.
 */
export function handoverProblems(
  report: Pick<FailoverReport, 'oldLeaderRejoined' | 'maxLeadersSeen' | 'leaderAfter'>,
  oldLeader: string,
  cutOff?: {node: string; tookWrites: boolean},
): string[] {
  const problems: string[] = []
  if (!report.oldLeaderRejoined) problems.push(`${oldLeader} did not rejoin as a replica on the leader's timeline`)
  if (cutOff?.tookWrites) {
    problems.push(
      `${oldLeader}, cut off on ${cutOff.node}, still took writes as a primary while ${report.leaderAfter ?? 'another member'} led`,
    )
  } else if (report.maxLeadersSeen > 1) {
    problems.push(`${report.maxLeadersSeen} members reported themselves leader at once`)
  }
  return problems
}

/**
 * Whether the leader's node may be faulted now: with synchronous durability, when Patroni could promote a member
 * holding every acknowledged visit (status's verdict); with async (the negative control's setting, never "safe"),
 * when a replica streams from the leader at all.
 */
export function readyForFault(status: Pick<HaStatus, 'durability' | 'members' | 'canLoseNode'>): boolean {
  if (status.durability === 'async') {
    const leader = status.members.find(isLeader)
    return status.members.some(
      (m) => !isLeader(m) && m.state === 'streaming' && (leader === undefined || m.timeline === leader.timeline),
    )
  }
  return status.canLoseNode.safe
}

function describeOutage(seconds: number | null): string {
  return `write outage ${seconds === null ? 'unknown' : `${seconds.toFixed(1)} s`}`
}

export function failoverDisruption(
  sw: SwarmContext,
  ha: HaSettings,
  options: {
    stallReplication: boolean
    timeoutMs: number
    fault?: 'kill' | 'pause' | 'partition'
    /** partition: the old leader's Patroni stopped after the cut (the negative control, FREEZE_PATRONI_ENV). */
    freezeOldLeaderPatroni?: boolean
  },
): Disruption {
  const fault = options.fault ?? 'kill'
  const shell = new NodeShell(sw.hostCli.endpoint)
  const project = sw.stack.config.project
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
  const poll = async <T>(what: string, look: () => Promise<T | undefined>, signal?: AbortSignal): Promise<T> => {
    const deadline = Date.now() + options.timeoutMs
    for (;;) {
      const found = await look().catch(() => undefined)
      if (found !== undefined) return found
      if (signal?.aborted || Date.now() > deadline)
        throw new StackctlError(`${what}: not within ${options.timeoutMs / 1000} s`)
      await sleep(1000)
    }
  }
  /** A member's PostgreSQL takes writes as a primary (asked in its container: no network between nodes needed). */
  const acceptsWrites = async (member: {node: string; id: string}) => {
    const said = await sw.hostCli
      .nodeExec(member.node, member.id, ACCEPTS_WRITES_PROBE, AbortSignal.timeout(15_000), DB_OS_USER)
      .catch(() => '')
    return said.trim() === 't'
  }
  const memberContainer = async (member: string) => {
    const [tasks, nodes] = await Promise.all([sw.manager.swarm.tasks(project), sw.manager.swarm.nodes()])
    const task = tasks.find((t) => t.serviceName === `${project}_${member}` && t.state === 'running' && t.containerId)
    return task ? {node: nodeNames(nodes).get(task.nodeId) ?? '', id: task.containerId!} : undefined
  }

  return {
    mode: fault === 'kill' ? 'failover' : fault,
    step: 'disrupt',
    healsItself: true,
    async disrupt(url, {visits, concurrency}, signal) {
      const local = sw.target.local
      if (!local) {
        throw new StackctlError(`--mode ${FAULT_VERB[fault]} a node container: it needs the local swarm`)
      }
      let before = await haStatus(sw, ha, signal)
      const manager = nodeName(local, 1)
      const nodeOf = (member: string) => ha.members.find((m) => m.pg === member)?.node ?? ''
      if (!before.leader) throw new StackctlError(`no leader among the members: ${before.canLoseNode.reason}`)
      const notes: string[] = []
      if (nodeOf(before.leader) === manager) {
        // Node 1 is the swarm's only manager and carries the URL's port: the leader leaves it first (planned).
        const waits = {timeoutMs: options.timeoutMs, signal, again: swarmCommand(sw, 'status')}
        const plan = await waitForSwitchoverPlan(sw, ha, waits)
        if (plan.from.node === manager) {
          sw.progress(
            `switchover ${plan.from.member} -> ${plan.to.member}: the leader leaves node 1 (the manager) first`,
          )
          const moved = await runSwitchover(sw, ha, plan, waits)
          before = moved.status
          notes.push(`switchover to ${moved.to.member} first`)
        } else {
          // The leader moved off node 1 on its own while a candidate was looked for.
          before = await haStatus(sw, ha, signal)
        }
      }
      if (!before.leader) throw new StackctlError(`no leader among the members: ${before.canLoseNode.reason}`)
      if (!readyForFault(before)) {
        // Right after a switchover (or a previous fault) the new leader's synchronous set may not name a streaming
        // replica yet: losing its node then leaves no member Patroni may promote, and the check would fail for a
        // fault injected where the cluster itself said it could not take one.
        sw.progress(`waiting until the cluster can lose a node: ${before.canLoseNode.reason}`)
        before = await poll(
          'the cluster able to lose a node',
          async () => {
            const now = await haStatus(sw, ha, signal)
            return now.leader && readyForFault(now) ? now : undefined
          },
          signal,
        )
      }
      const leader = before.leader!
      const leaderNode = nodeOf(leader)
      const timelineBefore = before.members.find((m) => m.name === leader)?.timeline ?? null
      let stalled: {node: string; id: string} | undefined
      /** partition: the old leader's container, asked for its own role while its node is cut off. */
      const oldLeader = fault === 'partition' ? await memberContainer(leader) : undefined
      if (fault === 'partition' && !oldLeader) {
        throw new StackctlError(`no running container of ${leader} to ask whether it still takes writes once cut off`)
      }
      /** The node is down (killed, paused or cut off, not yet brought back): afterwards brings it back. */
      let nodeDown = false
      let faulted = false
      let maxLeadersSeen = 1
      /** The old leader's container whose Patroni was stopped (the negative control): resumed afterwards. */
      let frozen: {node: string; id: string} | undefined
      /** partition: the cut-off old leader's PostgreSQL still took writes as a primary while another member led. */
      let oldLeaderTookWrites = false
      const disrupt = async (writer: VisitWriter): Promise<HaStatus> => {
        if (options.stallReplication) {
          stalled = await memberContainer(leader)
          if (!stalled) throw new StackctlError(`no running container of ${leader}`)
          const pids = await sw.hostCli.nodeExec(
            stalled.node,
            stalled.id,
            processSignal('walsender', 'SIGSTOP'),
            signal,
          )
          const acked = writer.state.acknowledged
          sw.progress(`${pids.split('\n').filter(Boolean).length} WAL senders of ${leader} stopped; writing for 5 s`)
          await Promise.race([writer.until((s) => s.acknowledged >= acked + Math.ceil(visits / 2)), sleep(5000)])
        }
        const inFlight = `${writer.state.inFlight} visits in flight`
        if (fault === 'kill') {
          sw.progress(`SIGKILL of node ${leaderNode} (leader ${leader}) with ${inFlight}`)
          await sw.hostCli.killContainer(leaderNode)
        } else if (fault === 'partition') {
          const peers = await Promise.all(
            local.nodes.filter((n) => n !== leaderNode).map((n) => sw.hostCli.containerAddress(n)),
          )
          sw.progress(`cutting node ${leaderNode} (leader ${leader}) from ${peers.join(', ')} with ${inFlight}`)
          // Set first: a cut that fails half-way is healed too (the heal removes whatever part is in place).
          nodeDown = true
          await shell.cut(leaderNode, peers, signal)
          if (options.freezeOldLeaderPatroni && oldLeader) {
            const pids = await sw.hostCli.nodeExec(
              oldLeader.node,
              oldLeader.id,
              processSignal('/usr/bin/patroni', 'SIGSTOP'),
              signal,
            )
            frozen = oldLeader
            sw.progress(
              `${pids.split('\n').filter(Boolean).length} Patroni processes of ${leader} stopped: nothing demotes it`,
            )
          }
        } else {
          sw.progress(`pausing node ${leaderNode} (leader ${leader}) with ${inFlight}`)
          await sw.hostCli.pauseContainer(leaderNode)
        }
        // Set at once: whatever fails from here, the node is started or unpaused again (afterwards).
        nodeDown = true
        faulted = true
        // Cut off, the old leader still answers with its own stale view: the majority's members are asked, and
        // the old leader's PostgreSQL itself whether it still takes writes, asked after the majority's view (a
        // new leader seen before it still took writes: two at once; the new one stays leader meanwhile).
        const skipNodes = fault === 'partition' ? [leaderNode] : []
        const lookAtOldLeader = async (now: HaStatus) => {
          if (!oldLeader) return
          const newLeaders = now.members.filter((m) => isLeader(m) && m.name !== leader).length
          if (newLeaders > 0 && (await acceptsWrites(oldLeader))) {
            maxLeadersSeen = Math.max(maxLeadersSeen, newLeaders + 1)
            oldLeaderTookWrites = true
          }
        }
        const after = await poll(
          'a new leader',
          async () => {
            const now = await haStatus(sw, ha, signal, {skipNodes})
            maxLeadersSeen = Math.max(maxLeadersSeen, now.members.filter(isLeader).length)
            await lookAtOldLeader(now)
            return now.leader && now.leader !== leader ? now : undefined
          },
          signal,
        )
        sw.progress(`${after.leader} leads (timeline ${after.members.find(isLeader)?.timeline ?? '?'})`)
        const ackedAtPromotion = writer.state.acknowledged
        await poll('writes after the failover', async () => {
          await lookAtOldLeader(after)
          return writer.state.acknowledged >= ackedAtPromotion + 10 ? true : undefined
        })
        if (fault === 'partition') {
          // Healed while visits are still written: the old leader, demoted, must rejoin as a replica.
          // The control's Patroni resumes first, still cut off: it finds the store out of reach and demotes.
          await resumePatroni()
          sw.progress(`healing the partition of node ${leaderNode}: ${leader} must rejoin as a replica`)
          await shell.heal(leaderNode)
          nodeDown = false
          const acked = writer.state.acknowledged
          await Promise.race([writer.until((s) => s.acknowledged >= acked + Math.ceil(visits / 2)), sleep(10_000)])
        }
        if (fault === 'pause') {
          // Woken while visits are still written: the window in which two servers could both take writes.
          sw.progress(`unpausing node ${leaderNode}: ${leader} wakes up still believing it leads`)
          await sw.hostCli.unpauseContainer(leaderNode)
          nodeDown = false
          const acked = writer.state.acknowledged
          await Promise.race([writer.until((s) => s.acknowledged >= acked + Math.ceil(visits / 2)), sleep(10_000)])
        }
        return after
      }
      const resumePatroni = async () => {
        if (!frozen) return
        await sw.hostCli.nodeExec(frozen.node, frozen.id, processSignal('/usr/bin/patroni', 'SIGCONT')).catch(() => '')
        sw.progress(`${leader}'s Patroni resumed`)
        frozen = undefined
      }
      const afterwards = async () => {
        if (stalled && !faulted) {
          await sw.hostCli
            .nodeExec(stalled.node, stalled.id, processSignal('walsender', 'SIGCONT'))
            .catch(() => undefined)
        }
        if (nodeDown && fault === 'kill') {
          sw.progress(`starting node ${leaderNode} again`)
          await sw.hostCli.startContainer(leaderNode)
        } else if (nodeDown && fault === 'partition') {
          await resumePatroni()
          sw.progress(`healing the partition of node ${leaderNode}`)
          await shell.heal(leaderNode)
          nodeDown = false
        } else if (nodeDown) {
          sw.progress(`unpausing node ${leaderNode}`)
          await sw.hostCli.unpauseContainer(leaderNode)
        }
        await resumePatroni()
      }
      const handover = await writeThroughFault(url, {visits, concurrency}, disrupt, afterwards)
      const {written, outageSeconds, value: after} = handover
      const newLeader = after.leader ?? null
      // The old leader must come back as a replica of the new timeline (Patroni rewinds it if it diverged).
      const rejoined = await poll(
        `${leader} rejoining as a replica`,
        async () => {
          const now = await haStatus(sw, ha, signal)
          maxLeadersSeen = Math.max(maxLeadersSeen, now.members.filter(isLeader).length)
          const newTimeline = now.members.find(isLeader)?.timeline
          const old = now.members.find((m) => m.name === leader)
          return old && !isLeader(old) && old.state === 'streaming' && old.timeline === newTimeline ? now : undefined
        },
        signal,
      ).catch(() => undefined)
      const final = rejoined ?? (await haStatus(sw, ha, signal))
      const report: FailoverReport = {
        leaderBefore: leader,
        killedNode: fault === 'kill' ? leaderNode : null,
        pausedNode: fault === 'pause' ? leaderNode : null,
        partitionedNode: fault === 'partition' ? leaderNode : null,
        leaderAfter: newLeader,
        timelineBefore,
        timelineAfter: final.members.find(isLeader)?.timeline ?? null,
        oldLeaderRejoined: rejoined !== undefined,
        outageSeconds,
        maxLeadersSeen,
        replicationStalled: options.stallReplication,
        durability: final.durability,
      }
      const problems = handoverProblems(report, leader, {node: leaderNode, tookWrites: oldLeaderTookWrites})
      const timelines = new Set(final.members.map((m) => m.timeline))
      if (timelines.size > 1) problems.push(`members on diverging timelines: ${[...timelines].join(', ')}`)
      const what = {kill: 'SIGKILL of', pause: 'pause of', partition: 'partition of'}[fault]
      const description = `${what} node ${leaderNode} running the leader ${leader}${notes.length ? ` (${notes.join('; ')})` : ''}${options.stallReplication ? ', its WAL senders stopped first' : ''}; ${newLeader ?? 'no member'} took over; ${describeOutage(outageSeconds)}`
      return {written, description, problems, failover: report}
    },
    async relaunch() {
      // The node was started (or unpaused) again in disrupt (its tasks restart by themselves).
    },
  }
}

/**
 * `verify-persistence --target swarm --mode switchover`: visits are written through the API while Patroni hands
 * the leadership to a synchronous standby (planned: the leader stops once its WAL reached the candidate). The
 * same set check as the failover follows; the report gives the write outage, which a planned switchover keeps
 * short (issue 26: at most 5 s, reported, not asserted).
 */
export function switchoverDisruption(sw: SwarmContext, ha: HaSettings, options: {timeoutMs: number}): Disruption {
  return {
    mode: 'switchover',
    step: 'disrupt',
    healsItself: true,
    async disrupt(url, {visits, concurrency}, signal) {
      const waits = {timeoutMs: options.timeoutMs, signal, again: swarmCommand(sw, 'status')}
      const plan = await waitForSwitchoverPlan(sw, ha, waits)
      const before = await haStatus(sw, ha, signal)
      const timelineBefore = before.members.find((m) => m.name === plan.from.member)?.timeline ?? null
      let maxLeadersSeen = 1
      const fault = async (writer: VisitWriter): Promise<HaStatus> => {
        sw.progress(
          `switchover ${plan.from.member} -> ${[plan.to, ...plan.alternatives].map((c) => c.member).join(' or ')} with ${writer.state.inFlight} visits in flight`,
        )
        const after = (
          await runSwitchover(sw, ha, plan, {
            ...waits,
            onLook: (now) => (maxLeadersSeen = Math.max(maxLeadersSeen, now.members.filter(isLeader).length)),
          })
        ).status
        sw.progress(`${after.leader} leads (timeline ${after.members.find(isLeader)?.timeline ?? '?'})`)
        const acked = writer.state.acknowledged
        await writer.until((s) => s.acknowledged >= acked + Math.ceil(visits / 2))
        return after
      }
      const {written, value: after, outageSeconds} = await writeThroughFault(url, {visits, concurrency}, fault)
      const final = await haStatus(sw, ha, signal)
      maxLeadersSeen = Math.max(maxLeadersSeen, final.members.filter(isLeader).length)
      const newTimeline = final.members.find(isLeader)?.timeline ?? null
      const old = final.members.find((m) => m.name === plan.from.member)
      const report: FailoverReport = {
        leaderBefore: plan.from.member,
        killedNode: null,
        pausedNode: null,
        partitionedNode: null,
        leaderAfter: after.leader,
        timelineBefore,
        timelineAfter: newTimeline,
        oldLeaderRejoined: Boolean(old && !isLeader(old) && old.state === 'streaming' && old.timeline === newTimeline),
        outageSeconds,
        maxLeadersSeen,
        replicationStalled: false,
        durability: final.durability,
      }
      const problems = handoverProblems(report, plan.from.member)
      const description = `planned switchover ${plan.from.member} (${plan.from.node}) -> ${after.leader ?? 'none'} while writing; ${describeOutage(outageSeconds)}`
      return {written, description, problems, failover: report}
    },
    async relaunch() {
      // Nothing was stopped: the old leader rejoined as a replica during the switchover.
    },
  }
}
