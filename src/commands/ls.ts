import {StackctlCommand} from '../lib/cli/base-command.js'
import {listStacks, type ListedStack} from '../lib/targets/compose/list.js'
import {formatBytes} from '../lib/operations/backup-restore/format.js'
import {textTable} from '../lib/cli/ui/table.js'

export interface LsResult {
  stacks: ListedStack[]
}

export default class Ls extends StackctlCommand {
  static override summary = 'List every stackctl stack on this engine'
  static override description = `Finds stacks by the io.stackctl labels on their containers and volumes: running ones, stopped ones, and \
those taken down whose data volume was kept. Shows each one's state, URL, volume and size, and its stack directory.`
  static override examples = ['<%= config.bin %> ls', '<%= config.bin %> ls --json']
  static override enableJsonFlag = true

  async run(): Promise<LsResult> {
    await this.parse(Ls)
    const stacks = await listStacks(this.engines.host())
    const rows = stacks.map((s) => [
      s.project,
      s.state,
      s.url ?? '-',
      s.volume.exists ? `${s.volume.name} (${formatBytes(s.volume.sizeBytes ?? -1)})` : '-',
      s.dir ?? '-',
    ])
    const header = ['PROJECT', 'STATE', 'URL', 'VOLUME', 'DIRECTORY']
    if (rows.length === 0) this.log('no stackctl stacks on this engine')
    else for (const line of textTable(header, rows)) this.log(line)
    return {stacks}
  }
}
