import {Flags} from '@oclif/core'

import {StackctlCommand} from '../lib/base-command.js'
import {configInput, stackFlags} from '../lib/flags.js'
import {loadStack} from '../lib/stack/context.js'
import {isHealthy, stackStatus, type StackStatus} from '../lib/stack/status.js'
import {assertSwarmFlagsFit, deployTargetFlag, swarmTargetFlags} from '../lib/cluster/flags.js'
import {loadSwarm} from '../lib/cluster/context.js'
import {describeSwarmStatus, swarmStackStatus, type SwarmStackStatus} from '../lib/cluster/status.js'
import {commandsFor} from '../lib/config/command-line.js'

/** What `status --json` prints, per target. */
export type StatusReport = StackStatus | SwarmStackStatus

export default class Status extends StackctlCommand {
  static override summary = 'Show each service’s state and health, the URL and the data volume'
  static override description = `Names what is wrong with a started stack (a service stopped, unhealthy or missing) and what to run. \
Exit 0 whatever the state; with --check, exit 1 when the stack is not running and healthy (for scripts).`
  static override examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status --json --project-name demo',
    '<%= config.bin %> status --check && echo healthy',
    '<%= config.bin %> status --target swarm --json',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...stackFlags,
    check: Flags.boolean({summary: 'Exit 1 unless both services are running and healthy'}),
    ...deployTargetFlag,
    ...swarmTargetFlags,
  }

  async run(): Promise<StatusReport> {
    const {flags} = await this.parse(Status)
    assertSwarmFlagsFit(flags.target, flags, Object.keys(swarmTargetFlags))
    if (flags.target === 'swarm') {
      const sw = await loadSwarm({...configInput(flags), dockerHost: flags['docker-host']}, {engines: this.engines})
      const swarmStatus = await swarmStackStatus(sw)
      for (const line of describeSwarmStatus(swarmStatus)) this.log(line)
      if (flags.check && !swarmStatus.healthy) this.exitAfterOutput(1)
      return swarmStatus
    }
    const ctx = await loadStack(configInput(flags), {engines: this.engines})
    const status = await stackStatus(ctx)
    const command = commandsFor(ctx.config)
    this.log(`project  ${status.project}`)
    this.log(`url      ${status.url}`)
    if (status.dbUrl) this.log(`db url   ${status.dbUrl}`)
    this.log(`mode     ${status.mode ?? 'not running'}`)
    for (const service of status.services) {
      this.log(`${service.name.padEnd(8)} ${service.state}${service.health === 'none' ? '' : ` (${service.health})`}`)
    }
    this.log(
      `volume   ${status.volume.name} (${status.volume.exists ? 'exists' : 'absent'}, PostgreSQL ${status.volume.pgMajor})`,
    )
    for (const old of status.volume.superseded) {
      this.log(
        `old      ${old.volume} (PostgreSQL ${old.pgMajor}, superseded ${old.at}${old.exists ? '' : ', gone'}): ${command('db rollback')} / ${command('db prune-old')}`,
      )
    }
    const {host, port, dbPort, pgMajor, imageSource} = status.settings
    this.log(
      `settings --host ${host} --port ${port}${dbPort === null ? '' : ` --db-port ${dbPort}`} --pg-major ${pgMajor} --image-source ${imageSource}`,
    )
    for (const warning of status.warnings) this.log(`warning  ${warning}`)
    for (const problem of status.problems) this.log(`problem  ${problem}`)
    if (status.services.every((s) => s.state === 'absent')) this.log(`next     not started: ${command('up')}`)
    if (flags.check && !isHealthy(status)) this.exitAfterOutput(1)
    return status
  }
}
