import {Args, Flags} from '@oclif/core'

import {StackctlCommand} from '../lib/base-command.js'
import {plainLine} from '../lib/compose/compose-client.js'
import {StackctlError} from '../lib/errors.js'
import {stackCommand} from '../lib/config/command-line.js'
import {configInput, stackFlags} from '../lib/flags.js'
import {loadStack} from '../lib/stack/context.js'
import {claimStack} from '../lib/stack/ownership.js'
import {SERVICES} from '../lib/stack/status.js'
import {assertSwarmFlagsFit, deployTargetFlag, swarmTargetFlags} from '../lib/cluster/flags.js'
import {loadSwarm} from '../lib/cluster/context.js'
import {swarmLogs} from '../lib/cluster/logs.js'

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
    assertSwarmFlagsFit(flags.target, flags, Object.keys(swarmTargetFlags))
    if (flags.target === 'swarm') {
      const sw = await loadSwarm({...configInput(flags), dockerHost: flags['docker-host']}, {engines: this.engines})
      const {follow, tail, since, timestamps} = flags
      return swarmLogs(sw, args.service, {follow, tail, since, timestamps, onLine: (line) => this.log(line)})
    }
    const ctx = await loadStack(configInput(flags), {engines: this.engines})
    await ctx.engine.ping() // an unreachable engine is exit 2 with its endpoint, as everywhere
    const {report} = await claimStack(ctx)
    if (report.containers === 'none') {
      throw new StackctlError(`the stack '${ctx.config.project}' has no containers, so there are no logs`, {
        exitCode: 1,
        suggestion: `start it with ${stackCommand(ctx.config, 'up')}`,
      })
    }
    const {follow, tail, since, timestamps} = flags
    await ctx.compose.logs(
      {service: args.service, follow, tail, since, timestamps},
      {onLine: (line) => this.log(plainLine(line)), buffer: false},
    )
  }
}
