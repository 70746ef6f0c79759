import {StackctlCommand} from '../lib/cli/base-command.js'
import {interactivePsqlCommand, splitPsqlArgv} from '../lib/operations/db/psql.js'
import {configInput, stackFlags} from '../lib/cli/flags.js'
import {loadStack} from '../lib/stack/context.js'
import {execInService} from '../lib/targets/compose/exec.js'

export default class Psql extends StackctlCommand {
  static override summary = 'Open psql on the stack’s database (as its user, inside the db container)'
  static override description = `Runs psql in the db container over its local socket, so no password is typed, shown or put on a command \
line. With a terminal it is interactive; without one, pass -c or pipe SQL into it. Arguments other than --dir and \
--project-name/-p go to psql unchanged; after --, all of them do. psql's exit code is stackctl's.`
  static override examples = [
    '<%= config.bin %> psql',
    "<%= config.bin %> psql -c 'select count(*) from visits'",
    "<%= config.bin %> psql --project-name demo -- -c 'select 1' -c 'select 2'",
    '<%= config.bin %> psql --project-name demo < report.sql',
  ]
  static override strict = false
  static override flags = {...stackFlags}

  async run(): Promise<void> {
    // oclif's own parsing would regroup psql's arguments: it only ever sees stackctl's.
    const split = splitPsqlArgv(this.argv, Psql.flags)
    const {flags} = await this.parse(Psql, split.own)
    const ctx = await loadStack(configInput(flags), {engines: this.engines})
    const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY)
    const exitCode = await execInService(ctx, 'db', interactivePsqlCommand(split.psql), {tty, action: 'open psql'})
    if (exitCode !== 0) this.exit(exitCode)
  }
}
