import {Args, Flags} from '@oclif/core'

import {restorePointLine} from '../../lib/operations/protect/restore-point.js'
import {StackctlCommand} from '../../lib/cli/base-command.js'
import {configInput, displayFlags, stackFlags, timeoutFlag} from '../../lib/cli/flags.js'
import {withInterrupts} from '../../lib/cli/interrupt.js'
import {terminalConfirm} from '../../lib/cli/prompt.js'
import {stackCommand} from '../../lib/model/config/command-line.js'
import {restoreSnapshot, type SnapshotRestoreResult} from '../../lib/operations/protect/snapshot-run.js'
import {StepRunner} from '../../lib/plan/runner.js'
import {parseVolumeOptions} from '../../lib/operations/upgrade/plan.js'
import {loadStack} from '../../lib/stack/context.js'
import {withStackLock} from '../../lib/stack/lock.js'
import {imageResolver} from '../../lib/targets/compose/image-resolver.js'
import {buildLocalImages} from '../../lib/targets/compose/local-images.js'

export default class SnapshotRestore extends StackctlCommand {
  static override summary = 'Restore a snapshot into a new volume, keeping the current one'
  static override description = [
    "Restores the snapshot's backup set alone into a new volume and ends recovery at its consistency point " +
      '(pgBackRest --type=immediate). Before the stack is switched to it, the restored server must prove it: ' +
      "out of recovery on a new timeline, its log saying it stopped at the backup's consistency point, and the " +
      'visits equal to those the snapshot recorded. The old volume is kept, recorded as superseded: db prune-old ' +
      'removes it once you are sure.',
    'You confirm by typing the snapshot name; without a terminal, --force is required. A failure or Ctrl-C before ' +
      'the switch leaves the stack on its old volume, as db restore does; the new volume, its room check and --volume-opt are ' +
      "as db restore's too.",
  ].join('\n\n')
  static override examples = [
    '<%= config.bin %> snapshot restore before-migration',
    '<%= config.bin %> snapshot restore --latest --force',
  ]
  static override args = {name: Args.string({description: 'The snapshot (snapshot list shows them)'})}
  static override enableJsonFlag = true
  static override flags = {
    ...stackFlags,
    ...timeoutFlag,
    ...displayFlags,
    latest: Flags.boolean({summary: 'The newest snapshot'}),
    force: Flags.boolean({summary: 'Do not ask'}),
    'volume-opt': Flags.string({
      summary: "Driver option of the new volume, KEY=VALUE (repeatable) [default: the old volume's]",
      multiple: true,
    }),
  }

  async run(): Promise<SnapshotRestoreResult> {
    const {args, flags} = await this.parse(SnapshotRestore)
    const volumeOptions = parseVolumeOptions(flags['volume-opt'])
    const display = this.stepDisplay(flags)
    const steps = new StepRunner({reporter: display})
    const ctx = await loadStack(configInput(flags), {...display.sinks, phase: steps.phase, engines: this.engines})
    const resolver = imageResolver(ctx, (pgMajor) => buildLocalImages(ctx, display.detail, pgMajor))
    const result = await display.around(() =>
      withInterrupts((signal) => {
        const confirm = terminalConfirm(signal, () => display.pause())
        return withStackLock(ctx, 'snapshot restore', () =>
          restoreSnapshot(ctx, resolver, {
            name: args.name,
            latest: flags.latest,
            force: flags.force,
            ...(volumeOptions ? {volumeOptions} : {}),
            confirm,
            signal,
            steps,
          }),
        )
      }),
    )
    this.log(
      `restored snapshot '${result.snapshot.name}' (backup ${result.backup}) in ${result.seconds.toFixed(1)} s: ${result.proof.visits} visits, timeline ${result.proof.timeline}`,
    )
    this.log(
      `active volume: ${result.to.volume}; ${result.from.exists ? `kept: ${result.from.volume} (${stackCommand(ctx.config, 'db prune-old')} ${result.from.volume} removes it once you are sure)` : `${result.from.volume} was gone`}`,
    )
    if (result.restorePoint) this.log(restorePointLine(result.restorePoint))
    return result
  }
}
