import {StackctlCommand} from '../lib/cli/base-command.js'
import {configInput, stackFlags} from '../lib/cli/flags.js'
import {commandsFor} from '../lib/model/config/command-line.js'
import {describeStack, type DescribeReport} from '../lib/operations/describe/describe.js'
import {describeLines} from '../lib/operations/describe/render.js'
import {loadStack} from '../lib/stack/context.js'

export type {DescribeReport} from '../lib/operations/describe/describe.js'

export default class Describe extends StackctlCommand {
  static override summary = 'Show everything about the stack on one screen: services, URLs, volume, backups, versions'
  static override description = `What status shows (each service's state and health, the URL, the db URL without its password, \
the problems and what to run), and what takes longer to find out: each service's last health-check output and image, \
the PostgreSQL version, the data volume's size, the backup files in the stack directory's backups folder and, for a \
stack that archives its WAL, pgBackRest's backup sets. It only reads; exit 0 whatever the state (status --check is \
the one for scripts). Compose stacks only.`
  static override examples = [
    '<%= config.bin %> describe',
    '<%= config.bin %> describe --project-name demo --dir ./demo/.stackctl',
    '<%= config.bin %> describe --json',
  ]
  static override enableJsonFlag = true
  static override flags = {...stackFlags}

  async run(): Promise<DescribeReport> {
    const {flags} = await this.parse(Describe)
    const ctx = await loadStack(configInput(flags), {engines: this.engines})
    const report = await describeStack(ctx)
    for (const line of describeLines(report, commandsFor(ctx.config))) this.log(line)
    return report
  }
}
