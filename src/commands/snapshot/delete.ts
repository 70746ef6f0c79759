import {Args, Flags} from '@oclif/core'

import {StackctlCommand} from '../../lib/cli/base-command.js'
import {configInput, stackFlags} from '../../lib/cli/flags.js'
import {withInterrupts} from '../../lib/cli/interrupt.js'
import {terminalConfirm} from '../../lib/cli/prompt.js'
import {deleteSnapshot, type SnapshotDeleteResult} from '../../lib/operations/protect/snapshot-run.js'
import {loadStack} from '../../lib/stack/context.js'
import {withStackLock} from '../../lib/stack/lock.js'

export default class SnapshotDelete extends StackctlCommand {
  static override summary = 'Delete a snapshot from the WAL archive (never a volume, never archived WAL)'
  static override description =
    "Expires the snapshot's backup set with pgBackRest (expire --set), with retention at its maximum for that run so no other backup and no archived WAL segment goes with it. The repository's only full backup is refused: the archived WAL needs it as its base. You confirm by typing the snapshot name; without a terminal, --force is required."
  static override examples = [
    '<%= config.bin %> snapshot delete before-migration',
    '<%= config.bin %> snapshot delete old --force',
  ]
  static override args = {name: Args.string({description: 'The snapshot (snapshot list shows them)', required: true})}
  static override enableJsonFlag = true
  static override flags = {...stackFlags, force: Flags.boolean({summary: 'Delete without asking'})}

  async run(): Promise<SnapshotDeleteResult> {
    const {args, flags} = await this.parse(SnapshotDelete)
    const ctx = await loadStack(configInput(flags), {engines: this.engines, progress: (line) => this.logToStderr(line)})
    const result = await withInterrupts((signal) => {
      const confirm = terminalConfirm(signal)
      return withStackLock(ctx, 'snapshot delete', () =>
        deleteSnapshot(ctx, {name: args.name, force: flags.force, confirm, signal}),
      )
    })
    this.log(`deleted snapshot '${result.name}' (backup ${result.label}); no volume and no archived WAL was touched`)
    if (result.recoverable) this.log(`point-in-time restore (db restore) reaches ${result.recoverable}`)
    return result
  }
}
