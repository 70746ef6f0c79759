import {restorePointLine} from '../../lib/operations/protect/restore-point.js'
import {Args, Flags} from '@oclif/core'

import {StackctlCommand} from '../../lib/cli/base-command.js'
import {adoptFlag, displayFlags, stackFlags} from '../../lib/cli/flags.js'
import {deployTargetFlag, swarmTargetFlags} from '../../lib/targets/swarm/cluster/flags.js'
import {targetFromFlags} from '../../lib/targets/select.js'
import type {RestoreResult} from '../../lib/operations/backup-restore/restore.js'
import {plural} from '../../lib/cli/ui/plural.js'

export default class VolumeRestore extends StackctlCommand {
  static override summary = 'Replace the database with a backup, keeping the current data if anything fails'
  static override description = `Checks FILE (against its FILE.json record when present, then with pg_restore --list), shows the backup's \
project, schema version, visits and creation time, restores it into a fresh database and checks that: it must be \
a visit-tracker database (tables, columns and types, the identity on id) holding as many visits as its record \
says. A counter that does not add up to the visits is rebuilt in the copy, and said so. Only then is it swapped \
in for the current one, in one transaction; the API carries on without a restart. Any failure leaves the current \
data untouched. The copy is made next to the live data: a restore that would not fit, with a reserve kept free \
for the live database, is refused with the numbers, and pg_restore is stopped should free space fall under \
that reserve anyway. A backup from another PostgreSQL major version is refused without --force. You confirm by typing \
the volume's name; without a terminal, --force is required. --force never lets a database that is not a \
visit-tracker's through. Ctrl-C before the swap stops pg_restore, drops the fresh database and exits 130; \
temporary databases left by a restore that was killed are dropped by the next one. With --target swarm it \
restores into the db task's container on its node; on an HA stack (--db-replicas 3), into the current leader, \
whose replication carries it to the other members.`
  static override examples = [
    '<%= config.bin %> volume restore .stackctl/backups/stackctl-pg17-20250101T120000Z.dump',
    '<%= config.bin %> volume restore ./visits.dump --target swarm --force',
    '<%= config.bin %> volume restore ./visits.dump --force --project-name demo',
  ]
  static override args = {
    file: Args.string({
      description: 'A dump written by stackctl volume backup (pg_dump custom format)',
      required: true,
    }),
  }
  static override enableJsonFlag = true
  static override flags = {
    ...stackFlags,
    ...adoptFlag,
    ...displayFlags,
    force: Flags.boolean({summary: 'Do not ask, and accept a backup from another PostgreSQL major version'}),
    ...deployTargetFlag,
    ...swarmTargetFlags,
  }

  async run(): Promise<RestoreResult> {
    const {args, flags} = await this.parse(VolumeRestore)
    const target = targetFromFlags(flags, 'volume restore', this.engines)
    const result = await target.restoreVolume({file: args.file, force: flags.force}, this.targetIo(flags))
    const before = result.visitsBefore === null ? '' : ` (was ${result.visitsBefore})`
    this.log(`restored ${result.file} into volume ${result.volume}: ${plural(result.visits, 'visit')}${before}`)
    if (result.counter.rebuilt) this.log(`visit_counter was rebuilt from count(*): ${result.counter.reason}`)
    if (result.restorePoint) this.log(restorePointLine(result.restorePoint))
    return result
  }
}
