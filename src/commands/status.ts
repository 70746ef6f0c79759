import {StackctlCommand} from '../lib/base-command.js'
import {configInput, stackFlags} from '../lib/flags.js'
import {loadStack} from '../lib/stack/context.js'
import {stackStatus, type StackStatus} from '../lib/stack/status.js'

export default class Status extends StackctlCommand {
  static override summary = 'Show each service’s state and health, the URL and the data volume'
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --json --project-name demo']
  static override enableJsonFlag = true
  static override flags = {...stackFlags}

  async run(): Promise<StackStatus> {
    const {flags} = await this.parse(Status)
    const status = await stackStatus(await loadStack(configInput(flags)))
    this.log(`project  ${status.project}`)
    this.log(`url      ${status.url}`)
    this.log(`mode     ${status.mode ?? 'not running'}`)
    for (const service of status.services) {
      this.log(`${service.name.padEnd(8)} ${service.state}${service.health === 'none' ? '' : ` (${service.health})`}`)
    }
    this.log(`volume   ${status.volume.name} (${status.volume.exists ? 'exists' : 'absent'})`)
    for (const warning of status.warnings) this.log(`warning  ${warning}`)
    return status
  }
}
