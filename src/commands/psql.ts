import {StackctlCommand} from '../lib/base-command.js'
import {interactivePsqlArgs} from '../lib/db/psql.js'
import {configInput, stackFlags} from '../lib/flags.js'
import {run} from '../lib/process/run.js'
import {loadStack} from '../lib/stack/context.js'
import {claimStack} from '../lib/stack/ownership.js'
import {runningDb} from '../lib/volume/database.js'

export default class Psql extends StackctlCommand {
  static override summary = 'Open psql on the stack’s database (as its user, inside the db container)'
  static override description = `Runs psql in the db container over its local socket, so no password is typed, shown or put on a command \
line. With a terminal it is interactive; without one, pass -c after -- or pipe SQL into it. psql's exit code is stackctl's.`
  static override examples = [
    '<%= config.bin %> psql',
    "<%= config.bin %> psql -- -c 'select count(*) from visits'",
    '<%= config.bin %> psql --project-name demo < report.sql',
  ]
  static override strict = false
  static override flags = {...stackFlags}

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(Psql)
    const ctx = await loadStack(configInput(flags))
    await ctx.engine.ping()
    await claimStack(ctx)
    const db = await runningDb(ctx, 'open psql')
    const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY)
    const result = await run('docker', interactivePsqlArgs(db.id, argv as string[], tty), {
      inherit: true,
      reject: false,
    })
    if (result.exitCode !== 0) this.exit(result.exitCode)
  }
}
