import {Args, Flags} from '@oclif/core'

import {StackctlCommand} from '../lib/base-command.js'
import {configInput, stackFlags} from '../lib/flags.js'
import {loadStack} from '../lib/stack/context.js'
import {SERVICES} from '../lib/stack/status.js'

export default class Logs extends StackctlCommand {
  static override summary = 'Show the services’ logs'
  static override examples = [
    '<%= config.bin %> logs',
    '<%= config.bin %> logs app --follow',
    '<%= config.bin %> logs db --tail 50',
  ]
  static override args = {
    service: Args.string({description: 'Only this service', options: [...SERVICES]}),
  }
  static override flags = {
    ...stackFlags,
    follow: Flags.boolean({char: 'f', summary: 'Keep streaming new lines'}),
    tail: Flags.integer({summary: 'Number of lines from the end of each log', min: 0}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Logs)
    const ctx = await loadStack(configInput(flags))
    await ctx.engine.ping() // an unreachable engine is exit 2 with its endpoint, as everywhere
    await ctx.compose.logs({service: args.service, follow: flags.follow, tail: flags.tail}, {inherit: true})
  }
}
