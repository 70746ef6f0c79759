import {Flags} from '@oclif/core'

import {StackctlCommand} from '../../lib/cli/base-command.js'
import {stackFlags, configInput, timeoutFlag} from '../../lib/cli/flags.js'
import {withInterrupts} from '../../lib/cli/interrupt.js'
import {loadStack} from '../../lib/stack/context.js'
import {imageResolver} from '../../lib/targets/compose/image-resolver.js'
import {buildLocalImages} from '../../lib/targets/compose/local-images.js'
import {withStackLock} from '../../lib/stack/lock.js'
import {rollbackStack, type RollbackResult} from '../../lib/operations/upgrade/rollback.js'

export default class DbRollback extends StackctlCommand {
  static override summary = 'Switch back to the volume the last db upgrade kept'
  static override description = `Switches the stack back to the data volume (and PostgreSQL major) it ran on before the last db upgrade; the \
newer volume is kept, superseded in its turn. Visits written after the upgrade are only on the newer volume: \
the rollback refuses, saying how many, unless --force.`
  static override examples = ['<%= config.bin %> db rollback', '<%= config.bin %> db rollback --force --json']
  static override enableJsonFlag = true
  static override flags = {
    ...stackFlags,
    ...timeoutFlag,
    force: Flags.boolean({summary: 'Roll back even though visits were written since the upgrade'}),
  }

  async run(): Promise<RollbackResult> {
    const {flags} = await this.parse(DbRollback)
    const ctx = await loadStack(configInput(flags), {engines: this.engines, progress: (line) => this.logToStderr(line)})
    const resolver = imageResolver(ctx, (pgMajor) => buildLocalImages(ctx, (line) => this.logToStderr(line), pgMajor))
    const result = await withInterrupts((signal) =>
      withStackLock(ctx, 'db rollback', () => rollbackStack(ctx, resolver, {force: flags.force, signal})),
    )
    this.log(
      `rolled back '${result.project}' to ${result.to.volume} (PostgreSQL ${result.to.pgMajor}): ${result.visits ?? 'unknown'} visits`,
    )
    if (result.left > 0) {
      this.log(
        `${result.left} visit${result.left === 1 ? '' : 's'} written since the upgrade stay on ${result.from.volume}`,
      )
    }
    this.log(`kept: ${result.superseded}`)
    return result
  }
}
