import {Flags} from '@oclif/core'

import {StackctlCommand} from '../../lib/cli/base-command.js'
import {configInput, stackFlags} from '../../lib/cli/flags.js'
import {loadStack} from '../../lib/stack/context.js'
import {stackDbUrl, type DbUrlResult} from '../../lib/targets/compose/db-url.js'

export default class DbUrl extends StackctlCommand {
  static override summary = 'Print the database’s URL for tools on this machine (after up --db-port)'
  static override description = `Prints postgres://postgres@127.0.0.1:PORT/visits, where PORT is the host port the running db container \
publishes (stackctl up --db-port PORT). The password is left out unless --show-password asks for it; it is read from \
the stack directory's secrets/db_password. Exit 1 when the stack is not running or its database is not published.`
  static override examples = [
    '<%= config.bin %> db url',
    `psql "$(<%= config.bin %> db url --show-password)" -c 'select count(*) from visits'`,
    '<%= config.bin %> db url --project-name demo --json',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...stackFlags,
    'show-password': Flags.boolean({summary: 'Put the password in the URL (it then appears on your screen)'}),
  }

  async run(): Promise<DbUrlResult> {
    const {flags} = await this.parse(DbUrl)
    const ctx = await loadStack(configInput(flags), {engines: this.engines})
    const result = await stackDbUrl(ctx, {showPassword: flags['show-password']})
    this.log(result.url)
    return result
  }
}
