import {StackctlCommand} from '../../lib/cli/base-command.js'
import {configInput, stackFlags} from '../../lib/cli/flags.js'
import {listSnapshots, type SnapshotListResult} from '../../lib/operations/protect/snapshot-run.js'
import {snapshotTable} from '../../lib/operations/protect/snapshot.js'
import {stackCommand} from '../../lib/model/config/command-line.js'
import {loadStack} from '../../lib/stack/context.js'

export default class SnapshotList extends StackctlCommand {
  static override summary = "List the stack's snapshots and the range point-in-time restore can reach"
  static override description =
    "Reads the WAL archive (volume <project>_backups) in a throw-away container, so it works with the db stopped or lost: each snapshot's name, when it became consistent, its size in the repository, the visits it recorded, its PostgreSQL major, its backup type, and whether it can be restored (its WAL is in the archive)."
  static override aliases = ['snapshot:ls']
  static override examples = ['<%= config.bin %> snapshot list', '<%= config.bin %> snapshot ls --json']
  static override enableJsonFlag = true
  static override flags = {...stackFlags}

  async run(): Promise<SnapshotListResult> {
    const {flags} = await this.parse(SnapshotList)
    const ctx = await loadStack(configInput(flags), {engines: this.engines, progress: (line) => this.logToStderr(line)})
    const result = await listSnapshots(ctx)
    if (result.snapshots.length === 0) {
      this.log(
        `no snapshots in the WAL archive of '${result.project}': ${stackCommand(ctx.config, 'snapshot create')} takes one`,
      )
    } else {
      for (const line of snapshotTable(result.snapshots)) this.log(line)
    }
    this.log(
      `point-in-time restore (db restore): ${result.recoverable ? result.recoverable.text : 'nothing yet: no backup with archived WAL'}`,
    )
    return result
  }
}
