import {Args, Flags} from '@oclif/core'

import {StackctlCommand} from '../../lib/cli/base-command.js'
import {configInput, stackFlags} from '../../lib/cli/flags.js'
import {withInterrupts} from '../../lib/cli/interrupt.js'
import {confirmByTyping, isInteractive} from '../../lib/cli/prompt.js'
import {plural} from '../../lib/cli/ui/plural.js'
import {formatBytes} from '../../lib/operations/backup-restore/format.js'
import {importDatabase, type ImportResult} from '../../lib/operations/backup-restore/sql-import.js'
import {restorePointLine} from '../../lib/operations/protect/restore-point.js'
import {loadStack} from '../../lib/stack/context.js'
import {withStackLock} from '../../lib/stack/lock.js'

export default class DbImport extends StackctlCommand {
  static override summary = 'Run a SQL file (.sql or .sql.gz) in the stack’s database, in one transaction'
  static override description = `Streams FILE (plain SQL, or gzip-compressed) into psql in the running db container, inside one transaction \
that stackctl commits only after the whole file ran without an error: a psql error, a file cut short, Ctrl-C or a \
killed stackctl leave the database as it was. Statements that cannot run in a transaction (CREATE DATABASE, VACUUM) \
are refused by PostgreSQL, and a file with its own COMMIT is committed in parts. A file from stackctl db export \
replaces the stack's tables. When the database holds visits, you confirm by typing the volume's name; without a \
terminal, --force is required. stackctl keeps no copy of what the file replaces (a restore point before an import \
is not built yet): take one with stackctl volume backup first. A pg_dump archive (custom format) is restored with \
stackctl volume restore instead.`
  static override examples = [
    '<%= config.bin %> db import ./visits.sql',
    '<%= config.bin %> db import ./visits.sql.gz --project-name demo --force',
  ]
  static override args = {
    file: Args.string({description: 'A SQL file, plain or gzip-compressed (.sql.gz)', required: true}),
  }
  static override enableJsonFlag = true
  static override flags = {
    ...stackFlags,
    force: Flags.boolean({summary: 'Do not ask before running the file in a database that holds visits'}),
  }

  async run(): Promise<ImportResult> {
    const {args, flags} = await this.parse(DbImport)
    const quiet = this.jsonEnabled()
    const ctx = await loadStack(configInput(flags), {
      engines: this.engines,
      progress: (line) => (quiet ? undefined : this.logToStderr(line)),
    })
    const result = await withInterrupts((signal) => {
      const confirm = isInteractive()
        ? (question: string, expected: string) => confirmByTyping(question, expected, signal)
        : undefined
      return withStackLock(ctx, 'db import', () =>
        importDatabase(ctx, {file: args.file, force: flags.force, confirm, signal}),
      )
    })
    const before = result.visitsBefore === null ? 'no visits table' : plural(result.visitsBefore, 'visit')
    const after = result.visitsAfter === null ? 'no visits table' : plural(result.visitsAfter, 'visit')
    this.log(
      `imported ${result.file} (${formatBytes(result.bytes)} of SQL) in one transaction: ${after} (was ${before})`,
    )
    if (result.restorePoint) this.log(restorePointLine(result.restorePoint))
    return result
  }
}
