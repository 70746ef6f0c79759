import {Flags} from '@oclif/core'

import {StackctlCommand} from '../../lib/cli/base-command.js'
import {configInput, displayFlags, stackFlags, timeoutFlag} from '../../lib/cli/flags.js'
import {withInterrupts} from '../../lib/cli/interrupt.js'
import {loadStack} from '../../lib/stack/context.js'
import {imageResolver} from '../../lib/targets/compose/image-resolver.js'
import {buildLocalImages} from '../../lib/targets/compose/local-images.js'
import {withStackLock} from '../../lib/stack/lock.js'
import {StepRunner} from '../../lib/plan/runner.js'
import {METHODS, parseInitdbArgs, parseVolumeOptions, type Method} from '../../lib/operations/upgrade/plan.js'
import {upgradeStack, type UpgradeResult} from '../../lib/operations/upgrade/upgrade.js'
import {plural} from '../../lib/cli/ui/plural.js'

export default class DbUpgrade extends StackctlCommand {
  static override summary = 'Upgrade PostgreSQL to a newer major on a new volume, verified, with the old one kept'
  static override description = [
    'Stops the API, takes a backup (as stackctl volume backup) and a ledger of every table (row count and checksum) ' +
      "and sequence, initialises the new major on a new volume <project>_postgres_data_pg<MAJOR> with the old cluster's " +
      "encoding, locale and data-checksum setting, and copies the data with the new major's pg_dump. The copy must " +
      'match the ledger exactly; only then is the stack switched to the new volume, and the API must record the next visit.',
    'The original volume is never written to and is kept (stack.json records it as superseded): stackctl db rollback ' +
      'switches back, stackctl db prune-old removes it once you are sure. A failure or Ctrl-C before the switch ' +
      'removes what the upgrade created and restarts the API on the old volume; a failure after it switches back.',
    "The new volume gets the old one's driver options unless --volume-opt gives others; options that would mount " +
      "the old volume's own storage (a bind mount's device) are refused, and so is a volume in memory (tmpfs) " +
      'unless --force.',
    '--method pg_upgrade needs both majors in one image, which the Debian-built images are not: it is refused.',
  ].join('\n\n')
  static override examples = [
    '<%= config.bin %> db upgrade --to 17',
    '<%= config.bin %> db upgrade --to 17 --project-name demo --json',
    "<%= config.bin %> db upgrade --to 17 --initdb-args='--data-checksums'",
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...stackFlags,
    ...timeoutFlag,
    ...displayFlags,
    to: Flags.integer({summary: 'The PostgreSQL major to upgrade to', required: true, min: 10, max: 99}),
    method: Flags.string({summary: 'How the data moves', options: [...METHODS], default: 'dump'}),
    'keep-old': Flags.boolean({
      summary: 'Keep the old volume for db rollback (always done; remove it later with db prune-old)',
      default: true,
      allowNo: false,
    }),
    'initdb-args': Flags.string({summary: "Extra initdb options for the new cluster, e.g. '--data-checksums'"}),
    'volume-opt': Flags.string({
      summary: "Driver option of the new volume, KEY=VALUE (repeatable) [default: the old volume's]",
      multiple: true,
    }),
    force: Flags.boolean({summary: 'Accept a new volume in memory (tmpfs), whose data a restart loses'}),
  }

  async run(): Promise<UpgradeResult> {
    const {flags} = await this.parse(DbUpgrade)
    const display = this.stepDisplay(flags)
    const steps = new StepRunner({reporter: display})
    const ctx = await loadStack(configInput(flags), {...display.sinks, phase: steps.phase, engines: this.engines})
    const resolver = imageResolver(ctx, (pgMajor) => buildLocalImages(ctx, display.detail, pgMajor))
    const initdbArgs = parseInitdbArgs(flags['initdb-args'])
    const volumeOptions = parseVolumeOptions(flags['volume-opt'])
    const result = await display.around(() =>
      withInterrupts((signal) =>
        withStackLock(ctx, 'db upgrade', () =>
          upgradeStack(ctx, resolver, {
            to: flags.to,
            method: flags.method as Method,
            initdbArgs,
            volumeOptions,
            force: flags.force,
            signal,
            steps,
          }),
        ),
      ),
    )
    this.log(
      `upgraded '${result.project}' from PostgreSQL ${result.from.pgMajor} to ${result.to.pgMajor} in ${result.seconds.toFixed(1)} s: ${plural(result.visits, 'visit')} and ${plural(result.tables, 'table')} verified, the API recorded visit ${result.nextVisit}`,
    )
    this.log(`active volume: ${result.to.volume}; kept: ${result.superseded} (stackctl db rollback returns to it)`)
    this.log(`backup taken before: ${result.backup}`)
    return result
  }
}
