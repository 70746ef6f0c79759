import {Flags} from '@oclif/core'

import {StackctlCommand} from '../lib/cli/base-command.js'
import {
  adoptFlag,
  backupScheduleFlags,
  configFlags,
  displayFlags,
  timeoutFlag,
  walArchiveFlag,
} from '../lib/cli/flags.js'
import {deployTargetFlag, swarmDeployFlags} from '../lib/targets/swarm/cluster/flags.js'
import {targetFromFlags} from '../lib/targets/select.js'
import type {UpReport} from '../lib/targets/target.js'

export type {UpReport} from '../lib/targets/target.js'

export default class Up extends StackctlCommand {
  static override summary = 'Render the stack, build the API image, start it and wait until it is healthy'
  static override description = `Renders docker-compose.yml into the stack directory, builds the API image, starts PostgreSQL and the API \
through Docker Compose and waits until both report healthy, then prints the URL. On a running, unchanged \
stack nothing is recreated. The data lives on the named volume <project>_postgres_data and survives down/up. \
A new stack on the local images archives its WAL with pgBackRest into <project>_backups (--no-wal-archive opts out; \
an older stack opts in with --wal-archive, which recreates its db with archiving on).`
  static override examples = [
    '<%= config.bin %> up',
    '<%= config.bin %> up --port 8080 --project-name demo',
    '<%= config.bin %> up --image-source local --timeout 180',
    '<%= config.bin %> up --db-port 5432',
    '<%= config.bin %> up --dev',
    '<%= config.bin %> up --wal-archive',
    '<%= config.bin %> up --no-wal-archive',
    '<%= config.bin %> up --target swarm --replicas 3',
    '<%= config.bin %> up --target swarm --docker-host ssh://admin@manager --registry registry.example.com:5000',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...configFlags,
    ...adoptFlag,
    build: Flags.boolean({summary: 'Rebuild the API image even if it exists'}),
    ...timeoutFlag,
    ...walArchiveFlag,
    ...backupScheduleFlags,
    ...displayFlags,
    force: Flags.boolean({summary: 'Overwrite a hand-edited docker-compose.yml'}),
    dev: Flags.boolean({
      summary: 'Development mode: run the API from src/api through a bind mount and reload it on save',
    }),
    'dev-source': Flags.string({
      summary: 'With --dev: the API source directory to mount [default: src/api of the stackctl checkout]',
      env: 'STACKCTL_DEV_SOURCE',
      dependsOn: ['dev'],
    }),
    ...deployTargetFlag,
    ...swarmDeployFlags,
  }

  async run(): Promise<UpReport> {
    const {flags} = await this.parse(Up)
    const target = targetFromFlags(flags, 'up', this.engines)
    const options = {
      build: flags.build,
      force: flags.force,
      dev: flags.dev,
      devSource: flags['dev-source'],
      quiet: flags.quiet,
      replicas: flags.replicas,
      dbNode: flags['db-node'],
      registry: flags.registry,
      dbReplicas: flags['db-replicas'],
      durability: flags['db-durability'],
    }
    return this.report(await target.up(options, this.targetIo(flags)))
  }
}

// The closing block lives with the Compose target; kept importable from here for its tests.
export {closingBlock, shellWord} from '../lib/targets/compose/compose-target.js'
