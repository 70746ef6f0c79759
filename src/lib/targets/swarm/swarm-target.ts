/**
 * The Swarm target: the stack deployed with `docker stack deploy` through a swarm manager (src/lib/targets/swarm/cluster/*).
 * Where the swarm cannot do what Compose does, it says so with a UsageError naming what it supports.
 */
import type {StackConfigInput} from '../../model/config/stack-config.js'
import {UsageError} from '../../errors.js'
import {megabytes} from '../../engine/images/builder.js'
import {withInterrupts} from '../../cli/interrupt.js'
import {parseCheckSettings} from '../../operations/verify/options.js'
import {terminalConfirm} from '../../cli/prompt.js'
import {imageResolver, offlineResolver} from '../compose/image-resolver.js'
import {buildMissingLocalImages} from '../compose/local-images.js'
import {withStackLock} from '../../stack/lock.js'
import {loadSwarm, type SwarmContext} from './cluster/context.js'
import {StepRunner} from '../../plan/runner.js'
import type {EngineFactory} from '../../engine/factory.js'
import {deploySwarmStack} from './cluster/deploy.js'
import {downSwarmStack} from './cluster/down.js'
import {swarmLogs} from './cluster/logs.js'
import {renderSwarmFile} from './cluster/render.js'
import {describeSwarmStatus, swarmStackStatus} from './cluster/status.js'
import {describeHa, haStatus} from './ha/status.js'
import {planSwitchover, runSwitchover} from './ha/switchover.js'
import {type FailoverReport, planFailover, runFailover} from './ha/manual-failover.js'
import type {HaSettings} from './ha/spec.js'
import {swarmCommand} from './cluster/context.js'
import {describeSwarmCheck, SWARM_MODES, verifySwarmPersistence, type SwarmMode} from './disruptions.js'
import {backupSwarmVolume, inspectSwarmVolume, restoreSwarmVolume} from './cluster/volume.js'
import {restoreWithDisplay} from '../compose/compose-target.js'
import {describeDoctor} from '../../operations/doctor/checks.js'
import {swarmDoctor} from './doctor.js'
import {swarmDownReport, swarmStatusReport, swarmUpReport} from '../reports.js'
import type {
  CommandIo,
  DeployTarget,
  DownOptions,
  FailoverOptions,
  LogsOptions,
  RenderOptions,
  Reported,
  RestoreOptions,
  SwitchoverOptions,
  SwitchoverReport,
  UpOptions,
  VerifyFlags,
} from '../target.js'

export class SwarmTarget implements DeployTarget {
  readonly name = 'swarm' as const

  constructor(
    private readonly input: StackConfigInput & {adopt?: boolean},
    private readonly dockerHost: string | undefined,
    private readonly engines: EngineFactory,
  ) {}

  private load(progress?: (line: string) => void): Promise<SwarmContext> {
    return loadSwarm({...this.input, dockerHost: this.dockerHost}, {progress, engines: this.engines})
  }

  async up(options: UpOptions, io: CommandIo) {
    const sw = await this.load(io.note)
    const resolver = imageResolver(sw.stack, () => buildMissingLocalImages(sw.stack, sw.stack.config.pgMajor, io.note))
    const result = await withInterrupts((signal) =>
      withStackLock(sw.stack, 'up', () =>
        deploySwarmStack(sw, resolver, {
          replicas: options.replicas,
          dbNode: options.dbNode,
          registry: options.registry,
          dbReplicas: options.dbReplicas,
          durability: options.durability,
          signal,
        }),
      ),
    )
    const lines = result.images.map((image) => {
      const where =
        image.via === 'present'
          ? 'already on its nodes'
          : `${image.via === 'load' ? 'loaded onto' : 'pushed to'} ${image.to.join(', ')}`
      return `image ${image.image} (${megabytes(image.sizeBytes)}): ${where}`
    })
    lines.push(
      result.network,
      `stack '${result.project}' is up on the swarm in ${result.seconds.toFixed(1)}s: ${result.url}`,
    )
    if (result.ha) lines.push(...describeHa(result.ha), `app ${result.replicas.app}; data volumes ${result.volume}`)
    else
      lines.push(`db on ${result.dbNode}, app ${result.replicas.app}; data volume ${result.volume} on ${result.dbNode}`)
    return {result: swarmUpReport(result, sw.stack.paths.dir), lines}
  }

  async down(options: DownOptions, io: CommandIo) {
    const sw = await this.load(io.note)
    const result = await withInterrupts((signal) => {
      const confirm = terminalConfirm(signal)
      return withStackLock(sw.stack, 'down', () =>
        downSwarmStack(sw, {volumes: options.volumes, force: options.force, confirm, signal}),
      )
    })
    const {volume} = result
    const several = result.volumes.length > 1
    const kept = volume.removed
      ? `${several ? 'volumes' : 'volume'} ${volume.name} deleted`
      : `${several ? 'volumes' : 'volume'} ${volume.name} kept${volume.node ? ` on ${volume.node}` : ''}`
    return {
      result: swarmDownReport(result),
      lines: [`stack '${result.project}' ${result.removed ? 'removed from the swarm' : 'was not deployed'}; ${kept}`],
    }
  }

  async status(options: {check?: boolean}) {
    const status = await swarmStackStatus(await this.load())
    return {
      result: swarmStatusReport(status),
      lines: describeSwarmStatus(status),
      exitCode: options.check && !status.healthy ? 1 : undefined,
    }
  }

  async logs(service: string | undefined, options: LogsOptions): Promise<void> {
    return swarmLogs(await this.load(), service, options)
  }

  async render(options: RenderOptions, _io: CommandIo) {
    const sw = await loadSwarm(this.input, {engines: this.engines})
    const render = () =>
      renderSwarmFile(sw, offlineResolver(sw.stack.engine), {replicas: options.replicas, stdout: options.stdout})
    const result = options.stdout ? await render() : await withStackLock(sw.stack, 'render', render)
    const about = [
      result.network,
      `pin the db before deploying by hand: docker node update --label-add ${result.dbNodeLabel} NODE`,
    ]
    if (!options.stdout) return {result, lines: [`wrote ${result.stackFile}`, ...about]}
    return {result, lines: [result.stackText?.trimEnd() ?? ''], notes: about}
  }

  async verifyPersistence(flags: VerifyFlags, io: CommandIo) {
    const mode = (flags.mode ?? 'down') as SwarmMode
    if (!(SWARM_MODES as readonly string[]).includes(mode)) {
      throw new UsageError(`--mode ${mode} does not apply to --target swarm`, `use one of: ${SWARM_MODES.join(', ')}`)
    }
    const settings = parseCheckSettings({visits: flags.visits, concurrency: flags.concurrency})
    // The same step display and runner as the Compose check: each step (and a deploy's own) in order, timed.
    const display = io.display()
    const steps = new StepRunner({reporter: display})
    const sw = await this.load(display.sinks.progress)
    const resolver = imageResolver(sw.stack, () => buildMissingLocalImages(sw.stack, sw.stack.config.pgMajor, io.note))
    const result = await display.around(() =>
      withInterrupts((signal) =>
        withStackLock(sw.stack, 'verify-persistence', () =>
          verifySwarmPersistence(sw, {
            mode,
            visits: settings.visits,
            concurrency: settings.concurrency,
            resolver,
            signal,
            steps,
          }),
        ),
      ),
    )
    const exitCode = result.passed ? undefined : result.aborted?.exitCode === 2 ? 2 : 1
    return {result, lines: describeSwarmCheck(result), exitCode}
  }

  async inspectVolume() {
    return inspectSwarmVolume(await this.load())
  }

  async backupVolume(file: string | undefined, io: CommandIo) {
    const display = io.display()
    return display.around(async () => {
      const sw = await this.load(display.sinks.progress)
      return withInterrupts((signal) =>
        withStackLock(sw.stack, 'volume backup', () => backupSwarmVolume(sw, {file, signal})),
      )
    })
  }

  async restoreVolume(options: RestoreOptions, io: CommandIo) {
    const display = io.display()
    const steps = new StepRunner({reporter: display})
    const sw = await loadSwarm({...this.input, dockerHost: this.dockerHost}, {...display.sinks, engines: this.engines})
    return restoreWithDisplay(sw.stack, options, io, (opts) => restoreSwarmVolume(sw, {...opts, steps}))
  }

  async switchover(options: SwitchoverOptions, io: CommandIo): Promise<Reported<SwitchoverReport>> {
    const sw = await this.load(io.note)
    const project = sw.stack.config.project
    const ha = haSettings(sw, 'db switchover')
    const again = swarmCommand(sw, 'status')
    const {report, after} = await withInterrupts((signal) =>
      withStackLock(sw.stack, 'db switchover', async () => {
        const plan = planSwitchover(await haStatus(sw, ha, signal), options.to, again)
        const moving = `the leader from ${plan.from.member} (${plan.from.node}) to ${plan.to.member} (${plan.to.node})`
        await confirmHaChange(sw, {
          force: options.force,
          signal,
          verb: 'db switchover',
          what: `db switchover moves ${moving}`,
          question: `Move ${moving}? Writes pause for a few seconds; no acknowledged visit is lost.`,
          to: plan.to.member,
        })
        io.note(`switchover: asking Patroni to move ${moving}`)
        const started = Date.now()
        const {status: after, to} = await runSwitchover(sw, ha, plan, {
          timeoutMs: sw.stack.config.timeoutSeconds * 1000,
          signal,
          again,
        })
        const leader = after.members.find((m) => m.name === to.member)
        const result: SwitchoverReport = {
          project,
          from: plan.from,
          to,
          seconds: (Date.now() - started) / 1000,
          timeline: leader?.timeline ?? null,
          durability: after.durability,
          members: after.members,
        }
        return {report: result, after}
      }),
    )
    return {
      result: report,
      lines: [
        `${report.to.member} on ${report.to.node} leads (timeline ${report.timeline ?? '?'}), ${report.from.member} streams from it: switched in ${report.seconds.toFixed(1)} s`,
        ...describeHa(after),
      ],
    }
  }

  async failover(options: FailoverOptions, io: CommandIo): Promise<Reported<FailoverReport>> {
    const sw = await this.load(io.note)
    const project = sw.stack.config.project
    const ha = haSettings(sw, 'db failover')
    const again = swarmCommand(sw, 'status')
    const {report, after} = await withInterrupts((signal) =>
      withStackLock(sw.stack, 'db failover', async () => {
        const before = await haStatus(sw, ha, signal)
        const plan = planFailover(before, options.to, again)
        const onto = `${plan.to.member} (${plan.to.node})`
        const replacing = plan.from ? `${plan.from.member} (${plan.from.node})` : 'no leader'
        if (plan.leaderHealthy) {
          io.note(
            `${replacing} leads and answers: ${swarmCommand(sw, 'db switchover')} is the planned way; a failover now does the same, Patroni demotes it cleanly first`,
          )
        }
        await confirmHaChange(sw, {
          force: options.force,
          signal,
          verb: 'db failover',
          what: `db failover promotes ${onto} in place of ${replacing}`,
          question: `Promote ${onto} in place of ${replacing}? Writes fail until it leads; ${
            before.durability === 'sync'
              ? 'no acknowledged visit is lost (it is in the synchronous quorum).'
              : `replication is asynchronous: visits ${plan.to.member} has not received are lost.`
          }`,
          to: plan.to.member,
        })
        io.note(`failover: asking Patroni to promote ${onto}`)
        const started = Date.now()
        const after = await runFailover(sw, ha, plan, {
          timeoutMs: sw.stack.config.timeoutSeconds * 1000,
          signal,
          again,
        })
        const result: FailoverReport = {
          project,
          from: plan.from,
          to: plan.to,
          leaderWasHealthy: plan.leaderHealthy,
          seconds: (Date.now() - started) / 1000,
          timeline: after.members.find((m) => m.name === plan.to.member)?.timeline ?? null,
          durability: after.durability,
          members: after.members,
        }
        return {report: result, after}
      }),
    )
    return {
      result: report,
      lines: [
        `${report.to.member} on ${report.to.node} leads (timeline ${report.timeline ?? '?'}): failed over in ${report.seconds.toFixed(1)} s`,
        ...describeHa(after),
      ],
    }
  }

  async doctor() {
    const report = await swarmDoctor(await this.load())
    return {result: report, lines: describeDoctor(report), exitCode: report.passed ? undefined : 1}
  }
}

/** The stack's HA settings; a stack with one database task refuses `verb` (exit 2, nothing changed). */
function haSettings(sw: SwarmContext, verb: string): HaSettings {
  const ha = sw.swarmState?.ha
  if (ha) return ha
  throw new UsageError(
    `${verb} applies to an HA database: stack '${sw.stack.config.project}' runs one database task on the swarm (--db-replicas 1), with no replica to hand over to`,
    "an HA database is a swarm stack deployed with --db-replicas 3 (README: 'More than one machine: Docker Swarm')",
  )
}

/** The project's name typed in a terminal, or --force; without either, refused with the command that confirms. */
async function confirmHaChange(
  sw: SwarmContext,
  change: {force?: boolean; signal: AbortSignal; verb: string; what: string; question: string; to: string},
): Promise<void> {
  if (change.force) return
  const project = sw.stack.config.project
  const confirm = terminalConfirm(change.signal)
  if (!confirm) {
    throw new UsageError(
      `${change.what}: not confirmed (no terminal to ask); nothing was changed`,
      `confirm with --force: ${swarmCommand(sw, change.verb)} --to ${change.to} --force`,
    )
  }
  if (!(await confirm(change.question, project))) {
    throw new UsageError(`not confirmed: nothing was changed`, `type '${project}' at the prompt, or pass --force`)
  }
}
