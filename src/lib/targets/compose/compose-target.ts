/** The Compose target: the stack on this engine through Docker Compose (src/lib/stack/*). */
import path from 'node:path'

import {stackCommand} from '../../model/config/command-line.js'
import {DEFAULTS, type StackConfigInput} from '../../model/config/stack-config.js'
import {plainLine} from '../../engine/compose-client.js'
import {StackctlError, UsageError} from '../../errors.js'
import {withInterrupts} from '../../cli/interrupt.js'
import {renderReport} from '../../operations/verify/report.js'
import {parseCheckSettings} from '../../operations/verify/options.js'
import {confirmByTyping, isInteractive, terminalConfirm} from '../../cli/prompt.js'
import {loadStack, type StackContext} from '../../stack/context.js'
import {StepRunner} from '../../plan/runner.js'
import type {EngineFactory} from '../../engine/factory.js'
import {DEFAULT_DEV_SOURCE, devToolchain} from './dev-mode.js'
import {verifyPersistence} from './disruptions.js'
import {downStack} from './down.js'
import {imageResolver, offlineResolver} from './image-resolver.js'
import {buildLocalImages} from './local-images.js'
import {withStackLock} from '../../stack/lock.js'
import {claimStack} from '../../stack/ownership.js'
import {renderStack} from '../../stack/render-stack.js'
import {isHealthy, stackStatus} from '../../stack/status.js'
import {upStack, type UpResult} from './up.js'
import {composeDownReport, composeStatusReport, composeUpReport} from '../reports.js'
import {cleanLeftovers} from '../../operations/upgrade/leftovers.js'
import {lastUpgrade} from '../../operations/upgrade/rollback.js'
import {plural} from '../../cli/ui/plural.js'
import {backupVolume} from '../../operations/backup-restore/backup.js'
import {inspectVolume} from '../../operations/backup-restore/inspect.js'
import {restoreVolume} from '../../operations/backup-restore/restore.js'
import {restorePointLine} from '../../operations/protect/restore-point.js'
import {commandsFor} from '../../model/config/command-line.js'
import {archivingLines} from '../../operations/protect/health.js'
import {describeDoctor, runDoctor} from '../../operations/doctor/checks.js'
import type {
  CommandIo,
  DeployTarget,
  DownOptions,
  FailoverOptions,
  FailoverReport,
  LogsOptions,
  RenderOptions,
  Reported,
  RestoreOptions,
  SwitchoverOptions,
  SwitchoverReport,
  UpOptions,
  VerifyFlags,
} from '../target.js'

export class ComposeTarget implements DeployTarget {
  readonly name = 'compose' as const

  constructor(
    private readonly input: StackConfigInput & {adopt?: boolean},
    private readonly engines: EngineFactory,
  ) {}

  async up(options: UpOptions, io: CommandIo) {
    if (options.dev) await devToolchain() // an installed package cannot: said before anything is written
    const display = io.display()
    const ctx = await loadStack(this.input, {...display.sinks, engines: this.engines})
    const resolver = imageResolver(ctx, (pgMajor) => buildLocalImages(ctx, display.sinks.progress, pgMajor))
    // Ctrl-C stops Compose gracefully and still releases the lock, so the next up needs no cleanup.
    const result = await display.around(() =>
      withInterrupts((signal) =>
        withStackLock(ctx, 'up', async () => {
          await cleanLeftovers(ctx)
          return upStack(ctx, resolver, {
            build: options.build,
            force: options.force,
            devSource: options.dev ? (options.devSource ?? ctx.configFile?.devSource ?? DEFAULT_DEV_SOURCE) : undefined,
            signal,
          })
        }),
      ),
    )
    const lines = [`stack '${result.project}' is up in ${result.seconds.toFixed(1)}s: ${result.url}`]
    if (!options.quiet) lines.push(...closingBlock(result, Boolean(options.dev)))
    return {result: composeUpReport(result), lines}
  }

  async down(options: DownOptions, io: CommandIo) {
    const display = io.display()
    const ctx = await loadStack(this.input, {...display.sinks, engines: this.engines})
    const started = Date.now()
    const result = await display.around(() =>
      withInterrupts((signal) => {
        const confirm = isInteractive()
          ? (volume: string, visits: number | undefined) =>
              confirmByTyping(
                `This deletes volume ${volume} and the ${visits ?? 'unknown number of'} visits in it. It cannot be undone.`,
                volume,
                signal,
              )
          : undefined
        return withStackLock(ctx, 'down', () =>
          downStack(ctx, {volumes: options.volumes, force: options.force, confirm, signal}),
        )
      }),
    )
    const {volume} = result
    let line: string
    if (volume.deleted) line = `stack '${result.project}' is down; volume ${volume.name} deleted`
    else if (volume.existed) {
      const visits = volume.visits === null ? '' : ` (${plural(volume.visits, 'visit')})`
      line = `stack '${result.project}' is down; volume ${volume.name} kept${visits}`
    } else line = `stack '${result.project}' is down; it has no data volume`
    const lines = [line]
    if (result.backupsKept) lines.push(`volume ${result.backupsKept} (WAL archive and backups) kept`)
    if (result.restorePoint) lines.push(restorePointLine(result.restorePoint))
    return {result: composeDownReport(result, (Date.now() - started) / 1000), lines}
  }

  async status(options: {check?: boolean}) {
    const ctx = await loadStack(this.input, {engines: this.engines})
    const status = await stackStatus(ctx, {archiving: true})
    const command = commandsFor(ctx.config)
    const lines = [`project  ${status.project}`, `url      ${status.url}`]
    if (status.dbUrl) lines.push(`db url   ${status.dbUrl}`)
    lines.push(`mode     ${status.mode ?? 'not running'}`)
    for (const service of status.services) {
      lines.push(`${service.name.padEnd(8)} ${service.state}${service.health === 'none' ? '' : ` (${service.health})`}`)
    }
    lines.push(
      `volume   ${status.volume.name} (${status.volume.exists ? 'exists' : 'absent'}, PostgreSQL ${status.volume.pgMajor})`,
    )
    // db rollback returns to the volume the last upgrade switched away from; a restore's old volume only prunes.
    const rollsBackTo = lastUpgrade(ctx.state, status.volume.name)?.from.volume
    for (const old of status.volume.superseded) {
      const fixes = [...(old.volume === rollsBackTo ? [command('db rollback')] : []), command('db prune-old')]
      lines.push(
        `old      ${old.volume} (PostgreSQL ${old.pgMajor}, superseded ${old.at}${old.exists ? '' : ', gone'}): ${fixes.join(' / ')}`,
      )
    }
    const {host, port, dbPort, pgMajor, imageSource} = status.settings
    lines.push(
      `settings --host ${host} --port ${port}${dbPort === null ? '' : ` --db-port ${dbPort}`} --pg-major ${pgMajor} --image-source ${imageSource}`,
    )
    if (ctx.configFile) lines.push(`config   ${ctx.configFile.path} (${ctx.configFile.keys.join(', ') || 'empty'})`)
    if (status.archiving) lines.push(...archivingLines(status.archiving))
    if (status.backups) lines.push(...archivingLines(status.backups, 'backups'))
    for (const warning of status.warnings) lines.push(`warning  ${warning}`)
    for (const problem of status.problems) lines.push(`problem  ${problem}`)
    if (status.services.every((s) => s.state === 'absent')) lines.push(`next     not started: ${command('up')}`)
    return {result: composeStatusReport(status), lines, exitCode: options.check && !isHealthy(status) ? 1 : undefined}
  }

  async logs(service: string | undefined, options: LogsOptions): Promise<void> {
    const ctx = await loadStack(this.input, {engines: this.engines})
    await ctx.engine.ping() // an unreachable engine is exit 2 with its endpoint, as everywhere
    const {report} = await claimStack(ctx)
    if (report.containers === 'none') {
      throw new StackctlError(`the stack '${ctx.config.project}' has no containers, so there are no logs`, {
        exitCode: 1,
        suggestion: `start it with ${stackCommand(ctx.config, 'up')}`,
      })
    }
    const {follow, tail, since, timestamps, onLine} = options
    await ctx.compose.logs(
      {service, follow, tail, since, timestamps},
      {onLine: (line) => onLine(plainLine(line)), buffer: false},
    )
  }

  async render(options: RenderOptions, io: CommandIo) {
    const ctx = await loadStack(this.input, {engines: this.engines})
    await ctx.engine.ping()
    const render = () => renderStack(ctx, offlineResolver(ctx.engine), {force: options.force, write: !options.stdout})
    const rendered = options.stdout ? await render() : await withStackLock(ctx, 'render', render)
    const override = ctx.compose.target.overrideFiles?.length ? ctx.paths.overrideFile : undefined
    const lines: string[] = []
    if (options.stdout && override) {
      // What will run: the user's override is part of it, so Compose itself merges the two.
      io.note(`with ${override} applied (docker compose config)`)
      lines.push((await ctx.compose.mergedConfig(rendered.composeText)).trimEnd())
    } else if (options.stdout) lines.push(rendered.composeText.trimEnd())
    else lines.push(`${rendered.written ? 'wrote' : 'unchanged'} ${ctx.paths.composeFile}`)
    return {result: {composeFile: ctx.paths.composeFile, written: rendered.written, images: rendered.images}, lines}
  }

  async verifyPersistence(flags: VerifyFlags, io: CommandIo) {
    const settings = parseCheckSettings(flags)
    const display = io.display()
    const steps = new StepRunner({reporter: display})
    const ctx = await loadStack(this.input, {...display.sinks, phase: steps.phase, engines: this.engines})
    const resolver = imageResolver(ctx, (pgMajor) => buildLocalImages(ctx, display.sinks.progress, pgMajor))
    const result = await display.around(() =>
      withInterrupts((signal) =>
        withStackLock(ctx, 'verify-persistence', () =>
          verifyPersistence(ctx, {...settings, keepRunning: flags.keepRunning, resolver, signal, steps}),
        ),
      ),
    )
    // A failed check still prints its whole result, then exits 1 — or 2 when a usage or environment problem
    // cut it short.
    const exitCode = result.passed ? undefined : result.aborted?.exitCode === 2 ? 2 : 1
    return {result, lines: renderReport(result), exitCode}
  }

  async inspectVolume() {
    return inspectVolume(await loadStack(this.input, {engines: this.engines}))
  }

  async backupVolume(file: string | undefined, io: CommandIo) {
    const display = io.display()
    return display.around(async () => {
      const ctx = await loadStack(this.input, {...display.sinks, engines: this.engines})
      return withInterrupts((signal) => withStackLock(ctx, 'volume backup', () => backupVolume(ctx, {file, signal})))
    })
  }

  async restoreVolume(options: RestoreOptions, io: CommandIo) {
    const display = io.display()
    const steps = new StepRunner({reporter: display})
    const ctx = await loadStack(this.input, {...display.sinks, phase: steps.phase, engines: this.engines})
    return restoreWithDisplay(ctx, options, io, (opts) => restoreVolume(ctx, {...opts, steps}))
  }

  async switchover(_options: SwitchoverOptions, _io: CommandIo): Promise<Reported<SwitchoverReport>> {
    throw new UsageError(
      `db switchover applies to the HA database of --target swarm: a Compose stack runs one PostgreSQL server, with no replica to hand over to`,
      "an HA database is a swarm stack deployed with --db-replicas 3 (README: 'More than one machine: Docker Swarm')",
    )
  }

  async failover(_options: FailoverOptions, _io: CommandIo): Promise<Reported<FailoverReport>> {
    throw new UsageError(
      `db failover applies to the HA database of --target swarm: a Compose stack runs one PostgreSQL server, with no replica to promote`,
      "an HA database is a swarm stack deployed with --db-replicas 3 (README: 'More than one machine: Docker Swarm')",
    )
  }

  async doctor() {
    const report = await runDoctor(await loadStack(this.input, {engines: this.engines}))
    return {result: report, lines: describeDoctor(report), exitCode: report.passed ? undefined : 1}
  }
}

/** The confirmed restore both targets run: the display paused for the question, Ctrl-C handled, the lock held. */
export async function restoreWithDisplay<T>(
  ctx: StackContext,
  options: RestoreOptions,
  io: CommandIo,
  restore: (
    options: RestoreOptions & {confirm?: (q: string, e: string) => Promise<boolean>; signal: AbortSignal},
  ) => Promise<T>,
): Promise<T> {
  const display = io.display()
  return display.around(() =>
    withInterrupts((signal) => {
      const confirm = terminalConfirm(signal, () => display.pause())
      return withStackLock(ctx, 'volume restore', () => restore({...options, confirm, signal}))
    }),
  )
}

/** What a user wants after up: where the data is and how much, where the files are, what to run next. */
export function closingBlock(result: UpResult, dev: boolean, cwd = process.cwd()): string[] {
  // The stack directory remembers the project: it is all a later command needs, and only when not the default.
  const dir = result.dir === path.resolve(cwd, DEFAULTS.dir) ? '' : ` --dir ${shellWord(result.dir)}`
  const visits = result.visits === null ? '' : `, ${result.visits} ${result.visits === 1 ? 'visit' : 'visits'}`
  return [
    `  data      volume ${result.volume.name}${visits}`,
    `  files     ${result.dir}`,
    ...(result.dbUrl ? [`  database  ${result.dbUrl} (stackctl db url${dir} --show-password adds the password)`] : []),
    `  next      stackctl logs${dir} app --follow · stackctl psql${dir} · stackctl down${dir}`,
    ...(dev ? ['  dev       saving a file under the source reloads the API'] : []),
  ]
}

/** A path as one word for a POSIX shell: bare when it is safe, single-quoted otherwise. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`
}
