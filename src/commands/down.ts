import {Flags, type Interfaces} from '@oclif/core'

import {StackctlCommand} from '../lib/cli/base-command.js'
import {adoptFlag, displayFlags, stackFlags} from '../lib/cli/flags.js'
import {withInterrupts} from '../lib/cli/interrupt.js'
import {confirmByTyping, isInteractive} from '../lib/cli/prompt.js'
import {StackctlError, UsageError} from '../lib/errors.js'
import {
  downAllStacks,
  findDownAllTargets,
  type DownAllResult,
  type DownAllTarget,
} from '../lib/targets/compose/down-all.js'
import {loadStack} from '../lib/stack/context.js'
import {deployTargetFlag, swarmTargetFlags} from '../lib/targets/swarm/cluster/flags.js'
import {targetFromFlags} from '../lib/targets/select.js'
import type {TargetDownReport} from '../lib/targets/target.js'
import {plural} from '../lib/cli/ui/plural.js'
import {textTable} from '../lib/cli/ui/table.js'

/** What `down --json` prints, per target. */
export type DownReport = TargetDownReport | DownAllResult

export default class Down extends StackctlCommand {
  static override summary = 'Stop and remove the containers; keep the data volume'
  static override description = `Removes the stack's containers and network. The data volume is kept unless --volumes is given, and even then \
only after you confirm by typing the volume's name (which is shown with the number of visits in it), or with
--force. Without a terminal and without --force, --volumes refuses. A swarm stack with --db-replicas 3 has a \
volume per member: you type the stack's name to delete them all.

--all takes down every stackctl stack on this engine (found by its io.stackctl labels, like stackctl ls) \
after listing them and asking you to type 'all' (or with --force); volumes are always kept. A stack whose \
stack directory is gone is taken down by its labels: only the containers stackctl created are removed.`
  static override examples = [
    '<%= config.bin %> down',
    '<%= config.bin %> down --volumes',
    '<%= config.bin %> down --volumes --force --project-name demo',
    '<%= config.bin %> down --target swarm',
    '<%= config.bin %> down --all',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...stackFlags,
    ...adoptFlag,
    ...displayFlags,
    volumes: Flags.boolean({summary: 'Also delete the data volume (asks for confirmation)'}),
    force: Flags.boolean({summary: 'With --volumes or --all: go ahead without asking'}),
    all: Flags.boolean({summary: 'Take down every stackctl stack on this engine (volumes kept; asks once)'}),
    // For tests that share an engine with other people's stacks: --all limited to projects named so.
    'project-prefix': Flags.string({hidden: true, dependsOn: ['all']}),
    ...deployTargetFlag,
    ...swarmTargetFlags,
  }

  async run(): Promise<DownReport> {
    const {flags} = await this.parse(Down)
    const target = targetFromFlags(flags, 'down', this.engines)
    if (flags.force && !flags.volumes && !flags.all) {
      throw new UsageError('--force goes with --volumes or --all', 'see stackctl down --help')
    }
    if (flags.all) return this.all(flags)
    return this.report(await target.down({volumes: flags.volumes, force: flags.force}, this.targetIo(flags)))
  }

  private async all(flags: Interfaces.InferredFlags<typeof Down.flags>): Promise<DownAllResult> {
    if (flags.volumes) {
      throw new UsageError(
        'down --all never deletes volumes: a volume is deleted one stack at a time, after its own confirmation',
        'run stackctl down --all to take every stack down and keep the volumes, then stackctl down --volumes in the directory of a stack whose data should go',
      )
    }
    const typed = this.argv.find((arg) => /^(--dir|--project-name|-p|--adopt|--target)(=|$)/.test(arg))
    if (typed)
      throw new UsageError(`--all takes no ${typed.split('=')[0]}: it acts on every stack`, 'see stackctl down --help')
    const engine = this.engines.host()
    const targets = await findDownAllTargets(engine, flags['project-prefix'] ?? '')
    if (targets.length === 0) {
      this.log('no stackctl stack on this engine has containers: nothing to take down')
      return {stacks: []}
    }
    for (const line of listing(targets)) this.logToStderr(line)
    const display = this.stepDisplay(flags)
    const result = await withInterrupts(async (signal) => {
      if (!flags.force) await this.confirmAll(targets, signal)
      return display.around(() =>
        downAllStacks(engine, targets, {
          signal,
          progress: display.sinks.progress,
          load: (dir, project) => loadStack({dir, project}, {engines: this.engines}),
        }),
      )
    })
    for (const stack of result.stacks) {
      const visits = stack.volume.visits === null ? '' : ` (${plural(stack.volume.visits, 'visit')})`
      if (stack.outcome === 'down') {
        const how = stack.via === 'labels' ? ' by its labels (its stack directory is gone or unreadable)' : ''
        this.log(`stack '${stack.project}' is down${how}; volume ${stack.volume.name} kept${visits}`)
      } else if (stack.outcome === 'failed') this.log(`stack '${stack.project}' was not taken down: ${stack.error}`)
      else this.log(`stack '${stack.project}' was not touched`)
    }
    if (result.stacks.some((s) => s.outcome === 'failed')) this.exitAfterOutput(1)
    return result
  }

  private async confirmAll(targets: readonly DownAllTarget[], signal: AbortSignal): Promise<void> {
    const count = `${targets.length} stack${targets.length === 1 ? '' : 's'}`
    if (!isInteractive()) {
      throw new StackctlError(`refusing to take down ${count} without confirmation (no terminal to ask on)`, {
        exitCode: 2,
        suggestion:
          'pass --force to take them all down (every volume is kept), or run stackctl down in one stack’s directory',
      })
    }
    const question = `This takes down ${count}: their containers and networks are removed, every volume is kept.`
    if (!(await confirmByTyping(question, 'all', signal))) {
      throw new StackctlError('not confirmed: nothing was taken down', {exitCode: 1})
    }
  }
}

/** The stacks --all will take down, as a table: project, state, directory. */
function listing(targets: readonly DownAllTarget[]): string[] {
  const rows = targets.map((t) => [t.project, t.state, t.dir ?? '-'])
  const header = ['PROJECT', 'STATE', 'DIRECTORY']
  return textTable(header, rows)
}
