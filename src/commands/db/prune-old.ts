import {Args, Flags} from '@oclif/core'

import {StackctlCommand} from '../../lib/cli/base-command.js'
import {stackFlags, configInput} from '../../lib/cli/flags.js'
import {withInterrupts} from '../../lib/cli/interrupt.js'
import {confirmByTyping, isInteractive} from '../../lib/cli/prompt.js'
import {loadStack} from '../../lib/stack/context.js'
import {withStackLock} from '../../lib/stack/lock.js'
import {pruneOld, type PruneResult} from '../../lib/operations/upgrade/prune.js'

export default class DbPruneOld extends StackctlCommand {
  static override summary = 'Delete a data volume the stack no longer runs on (kept by db upgrade or db rollback)'
  static override description = `Deletes a superseded data volume of this stack, only after you confirm by typing its name, or with --force. \
Without a terminal and without --force it refuses. The volume the stack runs on is never a candidate. Named \
explicitly, it also deletes the unfinished new volume of a db upgrade that was killed.`
  static override examples = [
    '<%= config.bin %> db prune-old',
    '<%= config.bin %> db prune-old stackctl_postgres_data --force',
  ]
  static override enableJsonFlag = true
  static override args = {
    volume: Args.string({description: 'The superseded volume (needed when there are several)'}),
  }
  static override flags = {
    ...stackFlags,
    force: Flags.boolean({summary: 'Delete without asking'}),
  }

  async run(): Promise<PruneResult> {
    const {args, flags} = await this.parse(DbPruneOld)
    const ctx = await loadStack(configInput(flags), {engines: this.engines, progress: (line) => this.logToStderr(line)})
    const result = await withInterrupts((signal) => {
      const confirm = isInteractive()
        ? (old: {volume: string; pgMajor: number; at: string}, unfinished: boolean) =>
            confirmByTyping(
              unfinished
                ? `This deletes volume ${old.volume}, the unfinished PostgreSQL ${old.pgMajor} copy of a db upgrade that was killed (the stack never ran on it). It cannot be undone.`
                : `This deletes volume ${old.volume} (PostgreSQL ${old.pgMajor} data, superseded ${old.at}). db rollback can no longer return to it. It cannot be undone.`,
              old.volume,
              signal,
            )
        : undefined
      return withStackLock(ctx, 'db prune-old', () => pruneOld(ctx, {volume: args.volume, force: flags.force, confirm}))
    })
    this.log(result.removed ? `deleted volume ${result.removed}` : 'the volume was already gone; stack.json updated')
    if (result.kept.length > 0) this.log(`still kept: ${result.kept.join(', ')}`)
    return result
  }
}
