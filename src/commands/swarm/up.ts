import {StackctlCommand} from '../../lib/cli/base-command.js'
import {describeSwarm, swarmUp, type SwarmUpResult} from '../../lib/targets/swarm/cluster/local-swarm.js'
import {swarmUpFlags} from '../../lib/targets/swarm/cluster/flags.js'
import {withInterrupts} from '../../lib/cli/interrupt.js'

/** What `swarm up --json` prints: the local swarm. */
export type SwarmUpReport = SwarmUpResult

export default class SwarmUp extends StackctlCommand {
  static override summary = 'Start a local Docker Swarm: N dockerd nodes in containers of this engine'
  static override description = `Each node is a container running Debian 12's dockerd 20.10 (image stackctl/swarm-node:20.10, built from Debian packages on first use and kept), with its images, containers and volumes on a named volume. Node 1 initialises the swarm and is its manager, the others join as workers. Node 1's API is a socket under stackctl's state directory and its published app port is forwarded to 127.0.0.1:--port, so \`stackctl up --target swarm\` deploys there and its URL works from this machine. Needs root (the nodes get every capability but CAP_SYS_RESOURCE, no seccomp/AppArmor filter). Ctrl-C removes what was created. On a swarm whose nodes are stopped (after a host or engine restart) it starts them again, node 1 first, with everything deployed on them and their data; Ctrl-C then stops them again.`
  static override examples = [
    '<%= config.bin %> swarm up',
    '<%= config.bin %> swarm up --nodes 3 --port 5050 --name demo-swarm',
  ]
  static override enableJsonFlag = true
  static override flags = swarmUpFlags

  async run(): Promise<SwarmUpReport> {
    const {flags} = await this.parse(SwarmUp)
    const result = await withInterrupts((signal) =>
      swarmUp(
        {name: flags.name, nodes: flags.nodes, port: flags.port},
        {progress: (line) => this.logToStderr(line), signal, engines: this.engines},
      ),
    )
    const how = result.created ? 'up' : result.restarted ? 'up again' : undefined
    if (result.partitionsHealed.length > 0) {
      this.log(`partition healed: ${result.partitionsHealed.join(', ')} can reach the other nodes again`)
    }
    this.log(`swarm '${result.name}' is ${how ? `${how} in ${result.seconds.toFixed(1)}s` : 'already up'}`)
    for (const line of describeSwarm(result)) this.log(line)
    return result
  }
}
