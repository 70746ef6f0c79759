import {Flags, type Interfaces} from '@oclif/core'

import {StackctlCommand} from '../lib/base-command.js'
import {adoptFlag, configInput, displayFlags, stackFlags} from '../lib/flags.js'
import {withInterrupts} from '../lib/interrupt.js'
import {confirmByTyping, isInteractive} from '../lib/prompt.js'
import {withStackLock} from '../lib/stack/lock.js'
import {loadStack} from '../lib/stack/context.js'
import {downStack, type DownResult} from '../lib/stack/down.js'
import {assertSwarmFlagsFit, deployTargetFlag, swarmTargetFlags} from '../lib/cluster/flags.js'
import {loadSwarm} from '../lib/cluster/context.js'
import {downSwarmStack, type SwarmDownResult} from '../lib/cluster/down.js'

/** What `down --json` prints, per target. */
export type DownReport = DownResult | SwarmDownResult

export default class Down extends StackctlCommand {
  static override summary = 'Stop and remove the containers; keep the data volume'
  static override description = `Removes the stack's containers and network. The data volume is kept unless --volumes is given, and even then
only after you confirm by typing the volume's name (which is shown with the number of visits in it), or with
--force. Without a terminal and without --force, --volumes refuses.`
  static override examples = [
    '<%= config.bin %> down',
    '<%= config.bin %> down --volumes',
    '<%= config.bin %> down --volumes --force --project-name demo',
    '<%= config.bin %> down --target swarm',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...stackFlags,
    ...adoptFlag,
    ...displayFlags,
    volumes: Flags.boolean({summary: 'Also delete the data volume (asks for confirmation)'}),
    force: Flags.boolean({summary: 'With --volumes: delete without asking', dependsOn: ['volumes']}),
    ...deployTargetFlag,
    ...swarmTargetFlags,
  }

  async run(): Promise<DownReport> {
    const {flags} = await this.parse(Down)
    assertSwarmFlagsFit(flags.target, flags, Object.keys(swarmTargetFlags))
    if (flags.target === 'swarm') return this.swarm(flags)
    const display = this.stepDisplay(flags)
    const ctx = await loadStack(configInput(flags), display.sinks)
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

  private async swarm(flags: Interfaces.InferredFlags<typeof Down.flags>): Promise<SwarmDownResult> {
    const progress = (line: string) => this.logToStderr(line)
    const sw = await loadSwarm({...configInput(flags), dockerHost: flags['docker-host']}, {progress})
    const result = await withInterrupts((signal) => {
      const confirm = isInteractive()
        ? (question: string, expected: string) => confirmByTyping(question, expected, signal)
        : undefined
      return withStackLock(sw.stack, 'down', () =>
        downSwarmStack(sw, {volumes: flags.volumes, force: flags.force, confirm, signal}),
      )
    })
    const {volume} = result
    const kept = volume.removed
      ? `volume ${volume.name} deleted`
      : `volume ${volume.name} kept${volume.node ? ` on ${volume.node}` : ''}`
    this.log(`stack '${result.project}' ${result.removed ? 'removed from the swarm' : 'was not deployed'}; ${kept}`)
    return result
  }
}
