import {Flags} from '@oclif/core'

import {StackctlCommand} from '../../lib/cli/base-command.js'
import {swarmDown, type SwarmDownResult} from '../../lib/targets/swarm/cluster/local-swarm.js'
import {swarmNameFlag} from '../../lib/targets/swarm/cluster/flags.js'
import {confirmByTyping, isInteractive} from '../../lib/cli/prompt.js'
import {DEFAULT_SWARM} from '../../lib/targets/swarm/local-spec.js'

/** What `swarm down --json` prints. */
export type SwarmDownReport = SwarmDownResult

export default class SwarmDown extends StackctlCommand {
  static override summary = 'Remove a local swarm: its node containers, their volumes and its network'
  static override description = `Everything deployed on the swarm lives inside its nodes and goes with them. When a stackctl data volume is inside (a stack deployed with up --target swarm), or a node is stopped or does not answer so its volumes cannot be read, nothing is removed unless you type the swarm's name at the prompt or pass --force; without a terminal and without --force it refuses. Only what carries the swarm's label io.stackctl.swarm is removed.`
  static override examples = ['<%= config.bin %> swarm down', '<%= config.bin %> swarm down --name demo-swarm --force']
  static override enableJsonFlag = true
  static override flags = {
    ...swarmNameFlag,
    force: Flags.boolean({summary: 'Remove the swarm even when stack data lives in it, without asking'}),
  }

  async run(): Promise<SwarmDownReport> {
    const {flags} = await this.parse(SwarmDown)
    const result = await swarmDown(flags.name ?? DEFAULT_SWARM.name, {
      force: flags.force,
      engines: this.engines,
      confirm: isInteractive() ? (question, expected) => confirmByTyping(question, expected) : undefined,
    })
    const {containers, volumes, networks} = result.removed
    if (containers.length + volumes.length + networks.length === 0) this.log(`no local swarm named '${result.name}'`)
    else this.log(`removed swarm '${result.name}': ${[...containers, ...volumes, ...networks].join(', ')}`)
    if (result.dataVolumes.length > 0) this.log(`stack data removed with it: ${result.dataVolumes.join(', ')}`)
    if (result.unreadable.length > 0) {
      this.log(`removed without knowing what they held (stopped or not answering): ${result.unreadable.join(', ')}`)
    }
    return result
  }
}
