import {StackctlCommand} from '../lib/cli/base-command.js'
import {configFlags} from '../lib/cli/flags.js'
import {deployTargetFlag, swarmTargetFlags} from '../lib/targets/swarm/cluster/flags.js'
import {targetFromFlags} from '../lib/targets/select.js'
import type {DoctorReport} from '../lib/targets/target.js'

export type {DoctorReport} from '../lib/targets/target.js'

export default class Doctor extends StackctlCommand {
  static override summary = 'Check that this machine can run the stack, and say how to fix what is missing'
  static override description = `Checks the Docker engine, Compose v2, the base images, the port, free disk space where Docker keeps its \
data, the stack directory and the password against the data volume. With --target swarm: the manager, its nodes, \
the stack's tasks and, for an HA database (--db-replicas 3), the etcd quorum and the Patroni members. Changes \
nothing. Exits 1 when any check fails.`
  static override examples = [
    '<%= config.bin %> doctor',
    '<%= config.bin %> doctor --port 8080 --json',
    '<%= config.bin %> doctor --target swarm',
  ]
  static override enableJsonFlag = true
  static override flags = {...configFlags, ...deployTargetFlag, ...swarmTargetFlags}

  async run(): Promise<DoctorReport> {
    const {flags} = await this.parse(Doctor)
    return this.report(await targetFromFlags(flags, 'doctor', this.engines).doctor())
  }
}
