import {Args, Flags} from '@oclif/core'

import {StackctlCommand} from '../../lib/base-command.js'
import {configInput, stackFlags} from '../../lib/flags.js'
import {confirmByTyping, isInteractive} from '../../lib/prompt.js'
import {loadStack} from '../../lib/stack/context.js'
import {withStackLock} from '../../lib/stack/lock.js'
import {restoreVolume, type RestoreResult} from '../../lib/volume/restore.js'

export default class VolumeRestore extends StackctlCommand {
  static override summary = 'Replace the database with a backup, keeping the current data if anything fails'
  static override description = `Checks FILE (against its FILE.json record when present, then with pg_restore --list), restores it into a \
fresh database, verifies it, and only then swaps it in for the current one. A failure at any step leaves the \
current data untouched. A backup from another PostgreSQL major version is refused without --force. You confirm \
by typing the volume's name (the prompt shows the visits now and in the backup); without a terminal, --force is \
required. The API reconnects by itself.`
  static override examples = [
    '<%= config.bin %> volume restore .stackctl/backups/stackctl-pg17-20250101T120000Z.dump',
    '<%= config.bin %> volume restore ./visits.dump --force --project-name demo',
  ]
  static override args = {
    file: Args.string({
      description: 'A dump written by stackctl volume backup (pg_dump custom format)',
      required: true,
    }),
  }
  static override enableJsonFlag = true
  static override flags = {
    ...stackFlags,
    force: Flags.boolean({summary: 'Do not ask, and accept a backup from another PostgreSQL major version'}),
  }

  async run(): Promise<RestoreResult> {
    const {args, flags} = await this.parse(VolumeRestore)
    const ctx = await loadStack(configInput(flags), {progress: (line) => this.logToStderr(line)})
    const confirm = isInteractive() ? confirmByTyping : undefined
    const result = await withStackLock(ctx, 'volume restore', () =>
      restoreVolume(ctx, {file: args.file, force: flags.force, confirm}),
    )
    const before = result.visitsBefore === null ? '' : ` (was ${result.visitsBefore})`
    this.log(`restored ${result.file} into volume ${result.volume}: ${result.visits} visits${before}`)
    return result
  }
}
