import {Flags} from '@oclif/core'

import {StackctlCommand} from '../../lib/cli/base-command.js'
import {configFlags, displayFlags, timeoutFlag} from '../../lib/cli/flags.js'
import {deployTargetFlag, swarmTargetFlags} from '../../lib/targets/swarm/cluster/flags.js'
import {targetFromFlags} from '../../lib/targets/select.js'
import type {SwitchoverReport} from '../../lib/targets/target.js'

export type {SwitchoverReport} from '../../lib/targets/target.js'

export default class DbSwitchover extends StackctlCommand {
  static override summary = "Move the HA database's leader to another member, planned: no acknowledged visit is lost"
  static override description = `For a swarm stack deployed with --db-replicas 3. Patroni stops the leader cleanly once its WAL \
reached the new leader, promotes that member, and the old leader rejoins as its replica; the command returns when the \
new leader leads and every other member streams from it (--timeout). Without --to, the synchronous standby least behind \
takes over (another eligible one in turn if Patroni turns it down). A target that could lack acknowledged visits (not streaming, not in the synchronous quorum, another \
timeline) is refused, changing nothing. Asks for the project's name in a terminal; --force skips that.`
  static override examples = [
    '<%= config.bin %> db switchover --target swarm --to pg2',
    '<%= config.bin %> db switchover --target swarm --to mystack-node3 --force --json',
  ]
  static override enableJsonFlag = true
  static override flags = {
    dir: configFlags.dir,
    'project-name': configFlags['project-name'],
    ...timeoutFlag,
    ...displayFlags,
    to: Flags.string({summary: 'The member (pg2) or its node (NAME-node2) to lead; default: the standby least behind'}),
    force: Flags.boolean({summary: 'Do not ask for confirmation'}),
    ...deployTargetFlag,
    ...swarmTargetFlags,
  }

  async run(): Promise<SwitchoverReport> {
    const {flags} = await this.parse(DbSwitchover)
    const target = targetFromFlags(flags, 'db switchover', this.engines)
    return this.report(await target.switchover({to: flags.to, force: flags.force}, this.targetIo(flags)))
  }
}
