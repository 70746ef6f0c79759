import {Flags} from '@oclif/core'

import {StackctlCommand} from '../../lib/cli/base-command.js'
import {configInput, displayFlags, stackFlags, timeoutFlag} from '../../lib/cli/flags.js'
import {withInterrupts} from '../../lib/cli/interrupt.js'
import {loadStack} from '../../lib/stack/context.js'
import {imageResolver} from '../../lib/targets/compose/image-resolver.js'
import {buildLocalImages} from '../../lib/targets/compose/local-images.js'
import {withStackLock} from '../../lib/stack/lock.js'
import {StepRunner} from '../../lib/plan/runner.js'
import {parseRecoveryTarget} from '../../lib/operations/protect/recovery.js'
import {restoreToPoint, type DbRestoreResult} from '../../lib/operations/protect/restore.js'
import {restorePointLine} from '../../lib/operations/protect/restore-point.js'
import {stackCommand} from '../../lib/model/config/command-line.js'
import {parseVolumeOptions} from '../../lib/operations/upgrade/plan.js'

export default class DbRestore extends StackctlCommand {
  static override summary = 'Restore the database to a point in time from its WAL archive, into a new volume'
  static override description = [
    "Restores the newest pgBackRest backup before the target from the stack's WAL archive (the volume " +
      '<project>_backups) into a new volume and replays the archived WAL up to the target. The restored server ' +
      'must prove it stopped there (a new timeline, "recovery stopping" in its log, out of recovery, the visit ' +
      'counter matching the visits, no visit after a time target) before the stack is switched to the new volume.',
    'The old volume is kept, recorded as superseded: stackctl db prune-old ' +
      'removes it once you are sure. A target before the oldest backup or past the last archived WAL is refused ' +
      'with the recoverable range; a failure or Ctrl-C before the switch leaves the stack on its old volume.',
    "The new volume gets the old one's driver and options unless --volume-opt gives others (never a tmpfs). " +
      'Before the recovery starts, its free space must hold the backup (or the live cluster, when larger), the ' +
      'WAL the replay keeps and a 64 MiB reserve for the live database, or the restore is refused with the ' +
      'numbers; while it runs, it is stopped before that reserve is gone.',
  ].join('\n\n')
  static override examples = [
    '<%= config.bin %> db restore --latest',
    '<%= config.bin %> db restore --to-time 2026-12-06T09:30:00Z',
    '<%= config.bin %> db restore --to-name before-migration',
    '<%= config.bin %> db restore --to-lsn 0/3000060',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...stackFlags,
    ...timeoutFlag,
    ...displayFlags,
    latest: Flags.boolean({summary: 'Everything the archive holds: the end of the archived WAL'}),
    'to-time': Flags.string({summary: 'An ISO 8601 time with its zone: every transaction committed by then'}),
    'to-name': Flags.string({summary: 'A named restore point (pg_create_restore_point, stackctl snapshot create)'}),
    'to-lsn': Flags.string({summary: 'A WAL location, e.g. 0/3000060: everything written up to it'}),
    'volume-opt': Flags.string({
      summary: "Driver option of the new volume, KEY=VALUE (repeatable) [default: the old volume's]",
      multiple: true,
    }),
  }

  async run(): Promise<DbRestoreResult> {
    const {flags} = await this.parse(DbRestore)
    const target = parseRecoveryTarget(flags)
    const volumeOptions = parseVolumeOptions(flags['volume-opt'])
    const display = this.stepDisplay(flags)
    const steps = new StepRunner({reporter: display})
    const ctx = await loadStack(configInput(flags), {...display.sinks, phase: steps.phase, engines: this.engines})
    const resolver = imageResolver(ctx, (pgMajor) => buildLocalImages(ctx, display.detail, pgMajor))
    const result = await display.around(() =>
      withInterrupts((signal) =>
        withStackLock(ctx, 'db restore', () =>
          restoreToPoint(ctx, resolver, {target, signal, steps, ...(volumeOptions ? {volumeOptions} : {})}),
        ),
      ),
    )
    this.log(
      `restored '${result.project}' to ${result.target} from backup ${result.backup} in ${result.seconds.toFixed(1)} s: ${result.proof.visits} visits, timeline ${result.proof.timeline}`,
    )
    if (result.proof.stoppedAt) this.log(`the server logged: ${result.proof.stoppedAt}`)
    this.log(
      `active volume: ${result.to.volume}; ${result.from.exists ? `kept: ${result.from.volume} (${stackCommand(ctx.config, 'db prune-old')} ${result.from.volume} removes it once you are sure)` : `${result.from.volume} was gone`}`,
    )
    if (result.restorePoint) this.log(restorePointLine(result.restorePoint))
    return result
  }
}
