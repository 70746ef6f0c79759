import {Flags} from '@oclif/core'

import {StackctlCommand} from '../lib/cli/base-command.js'
import {stackFlags} from '../lib/cli/flags.js'
import {deployTargetFlag, swarmTargetFlags} from '../lib/targets/swarm/cluster/flags.js'
import {targetFromFlags} from '../lib/targets/select.js'
import type {StatusReport} from '../lib/targets/target.js'

export type {StatusReport} from '../lib/targets/target.js'

export default class Status extends StackctlCommand {
  static override summary = 'Show each service’s state and health, the URL and the data volume'
  static override description = `Names what is wrong with a started stack (a service stopped, unhealthy or missing) and what to run. \
Exit 0 whatever the state; with --check, exit 1 when the stack is not running and healthy (for scripts).`
  static override examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status --json --project-name demo',
    '<%= config.bin %> status --check && echo healthy',
    '<%= config.bin %> status --target swarm --json',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...stackFlags,
    check: Flags.boolean({summary: 'Exit 1 unless both services are running and healthy'}),
    ...deployTargetFlag,
    ...swarmTargetFlags,
  }

  async run(): Promise<StatusReport> {
    const {flags} = await this.parse(Status)
    return this.report(await targetFromFlags(flags, 'status', this.engines).status({check: flags.check}))
  }
}
