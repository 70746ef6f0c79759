import {Args} from '@oclif/core'

import {StackctlCommand} from '../../lib/cli/base-command.js'
import {configInput, displayFlags, stackFlags} from '../../lib/cli/flags.js'
import {withInterrupts} from '../../lib/cli/interrupt.js'
import {plural} from '../../lib/cli/ui/plural.js'
import {StepRunner} from '../../lib/plan/runner.js'
import {createSnapshot, type SnapshotCreateResult} from '../../lib/operations/protect/snapshot-run.js'
import {humanSize} from '../../lib/operations/protect/snapshot.js'
import {loadStack} from '../../lib/stack/context.js'
import {withStackLock} from '../../lib/stack/lock.js'

export default class SnapshotCreate extends StackctlCommand {
  static override summary = "Take a named snapshot of the database: a full pgBackRest backup in the stack's WAL archive"
  static override description = [
    'Needs a stack that archives its WAL (the default for a new stack on the local images; up --wal-archive for an older one) with its db running. The snapshot is a full ' +
      'pgBackRest backup annotated with NAME and the visits counted when it was taken (a range when the API wrote ' +
      'during the backup), so snapshot list shows them without restoring. It never expires another backup.',
    'NAME: letters, digits, _ . -, at most 63; unique among the snapshots (default <project>-<UTC time>). ' +
      "Ctrl-C stops the backup; pgBackRest's unfinished set is not a snapshot (the next backup resumes or removes it).",
  ].join('\n\n')
  static override examples = ['<%= config.bin %> snapshot create before-migration', '<%= config.bin %> snapshot create']
  static override args = {
    name: Args.string({description: 'The snapshot name (default <project>-<UTC time>)'}),
  }
  static override enableJsonFlag = true
  static override flags = {...stackFlags, ...displayFlags}

  async run(): Promise<SnapshotCreateResult> {
    const {args, flags} = await this.parse(SnapshotCreate)
    const display = this.stepDisplay(flags)
    const steps = new StepRunner({reporter: display})
    const ctx = await loadStack(configInput(flags), {...display.sinks, phase: steps.phase, engines: this.engines})
    const result = await display.around(() =>
      withInterrupts((signal) =>
        withStackLock(ctx, 'snapshot create', () => createSnapshot(ctx, {name: args.name, signal, steps})),
      ),
    )
    const visits =
      result.visits.min === result.visits.max
        ? plural(result.visits.min, 'visit')
        : `${result.visits.min} to ${result.visits.max} visits (the API wrote during the backup)`
    this.log(
      `snapshot '${result.name}' taken in ${result.seconds.toFixed(1)} s: ${visits}, ${humanSize(result.sizeBytes)} (${result.type} backup ${result.label})`,
    )
    return result
  }
}
