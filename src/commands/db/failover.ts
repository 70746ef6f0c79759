import {Flags} from '@oclif/core'

import {StackctlCommand} from '../../lib/cli/base-command.js'
import {configFlags, displayFlags, timeoutFlag} from '../../lib/cli/flags.js'
import {deployTargetFlag, swarmTargetFlags} from '../../lib/targets/swarm/cluster/flags.js'
import {targetFromFlags} from '../../lib/targets/select.js'
import type {FailoverReport} from '../../lib/targets/target.js'

export type {FailoverReport} from '../../lib/targets/target.js'

export default class DbFailover extends StackctlCommand {
  static override summary = 'Promote another member of the HA database by hand, when Patroni did not replace its leader'
  static override description = `For a swarm stack deployed with --db-replicas 3, in the rare case Patroni made no new leader \
itself (the leader unhealthy or gone). Promotes --to, or the eligible member least behind, and returns when it leads \
(--timeout). A member that could lack acknowledged visits (not running, on an older timeline, outside the synchronous \
quorum) is refused, changing nothing; so are two leaders. With a healthy leader, db switchover is the planned way: \
failover says so and still proceeds when confirmed, as patronictl's does (Patroni demotes that leader cleanly first). \
Asks for the project's name in a terminal; --force skips that.`
  static override examples = [
    '<%= config.bin %> db failover --target swarm',
    '<%= config.bin %> db failover --target swarm --to pg3 --force --json',
  ]
  static override enableJsonFlag = true
  static override flags = {
    dir: configFlags.dir,
    'project-name': configFlags['project-name'],
    ...timeoutFlag,
    ...displayFlags,
    to: Flags.string({
      summary: 'The member (pg2) or its node (NAME-node2) to promote; default: the eligible one least behind',
    }),
    force: Flags.boolean({summary: 'Do not ask for confirmation'}),
    ...deployTargetFlag,
    ...swarmTargetFlags,
  }

  async run(): Promise<FailoverReport> {
    const {flags} = await this.parse(DbFailover)
    const target = targetFromFlags(flags, 'db failover', this.engines)
    return this.report(await target.failover({to: flags.to, force: flags.force}, this.targetIo(flags)))
  }
}
