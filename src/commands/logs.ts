import {Args, Flags} from '@oclif/core'

import {StackctlCommand} from '../lib/cli/base-command.js'
import {stackFlags} from '../lib/cli/flags.js'
import {SERVICES} from '../lib/stack/status.js'
import {deployTargetFlag, swarmTargetFlags} from '../lib/targets/swarm/cluster/flags.js'
import {targetFromFlags} from '../lib/targets/select.js'

export default class Logs extends StackctlCommand {
  static override summary = 'Show the services’ logs'
  static override examples = [
    '<%= config.bin %> logs',
    '<%= config.bin %> logs app --follow',
    '<%= config.bin %> logs db --tail 50 --timestamps',
    '<%= config.bin %> logs app --since 10m',
    '<%= config.bin %> logs app --target swarm --tail 20',
  ]
  static override args = {
    service: Args.string({description: 'Only this service', options: [...SERVICES]}),
  }
  static override flags = {
    ...stackFlags,
    follow: Flags.boolean({char: 'f', summary: 'Keep streaming new lines'}),
    tail: Flags.integer({summary: 'Number of lines from the end of each log', min: 0}),
    since: Flags.string({summary: 'Only lines since this time: 2026-01-02T15:04:05Z, or relative like 10m or 2h'}),
    timestamps: Flags.boolean({char: 't', summary: 'Prefix each line with its time'}),
    ...deployTargetFlag,
    ...swarmTargetFlags,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Logs)
    const {follow, tail, since, timestamps} = flags
    await targetFromFlags(flags, 'logs', this.engines).logs(args.service, {
      follow,
      tail,
      since,
      timestamps,
      onLine: (line) => this.log(line),
    })
  }
}
