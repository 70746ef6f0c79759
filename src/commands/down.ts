import {Flags} from '@oclif/core'

import {StackctlCommand} from '../lib/base-command.js'
import {adoptFlag, configInput, displayFlags, stackFlags} from '../lib/flags.js'
import {withInterrupts} from '../lib/interrupt.js'
import {confirmByTyping, isInteractive} from '../lib/prompt.js'
import {withStackLock} from '../lib/stack/lock.js'
import {loadStack} from '../lib/stack/context.js'
import {downStack, type DownResult} from '../lib/stack/down.js'

export default class Down extends StackctlCommand {
  static override summary = 'Stop and remove the containers; keep the data volume'
  static override description = `Removes the stack's containers and network. The data volume is kept unless --volumes is given, and even then
only after you confirm by typing the volume's name (which is shown with the number of visits in it), or with
--force. Without a terminal and without --force, --volumes refuses.`
  static override examples = [
    '<%= config.bin %> down',
    '<%= config.bin %> down --volumes',
    '<%= config.bin %> down --volumes --force --project-name demo',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...stackFlags,
    ...adoptFlag,
    ...displayFlags,
    volumes: Flags.boolean({summary: 'Also delete the data volume (asks for confirmation)'}),
    force: Flags.boolean({summary: 'With --volumes: delete without asking', dependsOn: ['volumes']}),
  }

  async run(): Promise<DownResult> {
    const {flags} = await this.parse(Down)
    const display = this.stepDisplay(flags)
    const ctx = await loadStack(configInput(flags), {
      progress: display.info,
      detail: display.detail,
      phase: display.phase,
    })
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
          downStack(ctx, {volumes: flags.volumes, force: flags.force, confirm, signal}),
        )
      }),
    )
    const {volume} = result
    if (volume.deleted) this.log(`stack '${result.project}' is down; volume ${volume.name} deleted`)
    else if (volume.existed) {
      const visits = volume.visits === null ? '' : ` (${volume.visits} visits)`
      this.log(`stack '${result.project}' is down; volume ${volume.name} kept${visits}`)
    } else this.log(`stack '${result.project}' is down; it has no data volume`)
    return result
  }
}
