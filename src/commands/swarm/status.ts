import {StackctlCommand} from '../../lib/cli/base-command.js'
import {describeSwarm, swarmStatus, type LocalSwarmStatus} from '../../lib/targets/swarm/cluster/local-swarm.js'
import {swarmNameFlag} from '../../lib/targets/swarm/cluster/flags.js'
import {DEFAULT_SWARM} from '../../lib/targets/swarm/local-spec.js'

/** What `swarm status --json` prints. */
export type SwarmStatusReport = LocalSwarmStatus

export default class SwarmStatus extends StackctlCommand {
  static override summary = 'Show a local swarm: its nodes, their roles, availability and addresses'
  static override description = 'Exit 0 when every node is running and ready in the swarm, 1 otherwise.'
  static override examples = [
    '<%= config.bin %> swarm status',
    '<%= config.bin %> swarm status --name demo-swarm --json',
  ]
  static override enableJsonFlag = true
  static override flags = swarmNameFlag

  async run(): Promise<SwarmStatusReport> {
    const {flags} = await this.parse(SwarmStatus)
    const status = await swarmStatus(flags.name ?? DEFAULT_SWARM.name, {engines: this.engines})
    this.log(`swarm '${status.name}': ${status.up ? 'up' : status.nodes.length ? 'not ready' : 'absent'}`)
    for (const line of describeSwarm(status)) this.log(line)
    if (!status.up) this.exitAfterOutput(1)
    return status
  }
}
