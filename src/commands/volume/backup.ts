import {Args} from '@oclif/core'

import {StackctlCommand} from '../../lib/cli/base-command.js'
import {adoptFlag, displayFlags, stackFlags} from '../../lib/cli/flags.js'
import type {BackupResult} from '../../lib/operations/backup-restore/backup.js'
import {formatBytes} from '../../lib/operations/backup-restore/format.js'
import {deployTargetFlag, swarmTargetFlags} from '../../lib/targets/swarm/cluster/flags.js'
import {targetFromFlags} from '../../lib/targets/select.js'

export default class VolumeBackup extends StackctlCommand {
  static override summary = 'Write a consistent backup of the running database to a file'
  static override description = `Runs pg_dump (custom format) inside the running db container on one exported snapshot while the API keeps \
serving, and streams it to FILE, showing progress on stderr. Next to it, FILE.json records the project, the \
PostgreSQL major version, the schema version, the number of visits in that same snapshot, the size and the \
SHA-256 of the dump; stackctl volume restore checks the backup against it. An existing file or a symbolic link \
is never written to. Ctrl-C stops pg_dump in the container, removes the partial file and exits 130. The stack \
must be running (stackctl up). With --target swarm, pg_dump runs in the db task's container on its node (local \
swarm, or a db on the manager); on an HA stack (--db-replicas 3), in the current leader's.`
  static override examples = [
    '<%= config.bin %> volume backup',
    '<%= config.bin %> volume backup ./visits.dump --project-name demo',
    '<%= config.bin %> volume backup --json',
    '<%= config.bin %> volume backup --target swarm ./visits.dump',
  ]
  static override args = {
    file: Args.string({
      description: 'Where to write the dump [default: <dir>/backups/<project>-pg<major>-<UTC time>.dump]',
    }),
  }
  static override enableJsonFlag = true
  static override flags = {...stackFlags, ...adoptFlag, ...displayFlags, ...deployTargetFlag, ...swarmTargetFlags}

  async run(): Promise<BackupResult> {
    const {args, flags} = await this.parse(VolumeBackup)
    const result = await targetFromFlags(flags, 'volume backup', this.engines).backupVolume(
      args.file,
      this.targetIo(flags),
    )
    this.log(
      `backed up ${result.visits ?? 'an unknown number of'} visits (PostgreSQL ${result.pgMajor}, ${formatBytes(result.bytes)}) to ${result.file}`,
    )
    this.log(`record: ${result.record}`)
    return result
  }
}
