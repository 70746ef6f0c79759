import {Args} from '@oclif/core'

import {StackctlCommand} from '../../lib/cli/base-command.js'
import {configInput, stackFlags} from '../../lib/cli/flags.js'
import {withInterrupts} from '../../lib/cli/interrupt.js'
import {UsageError} from '../../lib/errors.js'
import {formatBytes} from '../../lib/operations/backup-restore/format.js'
import {exportDatabase, type ExportResult} from '../../lib/operations/backup-restore/sql-export.js'
import {loadStack} from '../../lib/stack/context.js'

export default class DbExport extends StackctlCommand {
  static override summary = 'Write the database as plain SQL, to a file or to stdout'
  static override description = `Runs pg_dump (plain SQL) in the running db container on one snapshot while the API keeps serving. The SQL \
drops and recreates the stack's tables (--clean --if-exists, no owners or privileges), so stackctl db import of it \
into another stack replaces that stack's data. Without FILE the SQL goes to stdout; a FILE ending in .gz is \
gzip-compressed. FILE must not exist (an export never overwrites, and never writes through a symbolic link) and its \
directory must; it appears only when complete. Ctrl-C stops pg_dump and leaves no file. For a backup that \
volume restore checks, use stackctl volume backup.`
  static override examples = [
    '<%= config.bin %> db export ./visits.sql',
    '<%= config.bin %> db export ./visits.sql.gz --project-name demo',
    '<%= config.bin %> db export | psql -h otherhost -U postgres visits',
  ]
  static override args = {
    file: Args.string({description: 'Where to write the SQL (.gz: compressed) [default: stdout]'}),
  }
  static override enableJsonFlag = true
  static override flags = {...stackFlags}

  async run(): Promise<ExportResult> {
    const {args, flags} = await this.parse(DbExport)
    if (this.jsonEnabled() && args.file === undefined) {
      throw new UsageError(
        '--json needs a FILE: stdout holds the JSON result',
        'name the file to write the SQL to, before --json',
      )
    }
    const quiet = this.jsonEnabled()
    const ctx = await loadStack(configInput(flags), {
      engines: this.engines,
      progress: (line) => (quiet ? undefined : this.logToStderr(line)),
    })
    const result = await withInterrupts((signal) => exportDatabase(ctx, {file: args.file, signal}))
    if (result.file) {
      this.log(
        `exported ${result.visits ?? 'an unknown number of'} visits (PostgreSQL ${result.pgMajor}) to ${result.file} (${formatBytes(result.bytes)}${result.compressed ? ', gzip' : ''})`,
      )
    }
    return result
  }
}
