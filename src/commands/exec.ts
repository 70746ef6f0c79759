import {Args} from '@oclif/core'

import {StackctlCommand} from '../lib/cli/base-command.js'
import {stackCommand} from '../lib/model/config/command-line.js'
import {INTERACTIVE_SHELL} from '../lib/engine/docker-exec.js'
import {UsageError} from '../lib/errors.js'
import {configInput, stackFlags} from '../lib/cli/flags.js'
import {splitPassthroughArgv} from '../lib/cli/passthrough-argv.js'
import {loadStack} from '../lib/stack/context.js'
import {execInService} from '../lib/targets/compose/exec.js'
import {SERVICES} from '../lib/stack/status.js'

export default class Exec extends StackctlCommand {
  static override summary = 'Run a command in a running service’s container (db or app), like ddev exec'
  static override description = `Runs CMD in the container of SERVICE with your stdin, stdout and stderr; its exit code is \
stackctl's. Without CMD, at a terminal, opens a shell (bash where the image has it, else sh). --dir and \
--project-name/-p are stackctl's when they come before CMD; from CMD on (or after --), every argument is CMD's.`
  static override examples = [
    "<%= config.bin %> exec db -- psql -U postgres -d visits -tAc 'select count(*) from visits'",
    '<%= config.bin %> exec app -- node --version',
    '<%= config.bin %> exec --project-name demo db',
    'echo hello | <%= config.bin %> exec app -- cat',
  ]
  static override usage = ['<%= command.id %> SERVICE [--dir <value>] [-p <value>] [--] [CMD...]']
  static override strict = false
  static override args = {
    service: Args.string({description: 'The service whose container runs CMD', required: true, options: [...SERVICES]}),
  }
  static override flags = {...stackFlags}

  async run(): Promise<void> {
    // oclif's own parsing would regroup CMD's arguments: it only ever sees stackctl's.
    const split = splitPassthroughArgv(this.argv, Exec.flags, {ownPositionals: 1})
    const {args, flags} = await this.parse(Exec, split.own)
    const service = args.service as (typeof SERVICES)[number]
    const ctx = await loadStack(configInput(flags), {engines: this.engines})
    const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY)
    if (split.rest.length === 0 && !tty) {
      throw new UsageError(
        `no command to run in ${service}, and no terminal for a shell`,
        `name one after --: ${stackCommand(ctx.config, `exec ${service}`)} -- ${service === 'db' ? 'psql -U postgres -d visits -c "select 1"' : 'node --version'}`,
      )
    }
    const command = split.rest.length > 0 ? split.rest : INTERACTIVE_SHELL
    const exitCode = await execInService(ctx, service, command, {tty, action: `run a command in ${service}`})
    if (exitCode !== 0) this.exit(exitCode)
  }
}
