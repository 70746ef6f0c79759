import {StackctlCommand} from '../lib/cli/base-command.js'
import {commandsFor} from '../lib/model/config/command-line.js'
import {configInput, displayFlags, stackFlags} from '../lib/cli/flags.js'
import {withInterrupts} from '../lib/cli/interrupt.js'
import {loadStack} from '../lib/stack/context.js'
import {describeLifecycle, stopStack, type LifecycleResult} from '../lib/targets/compose/lifecycle.js'
import {withStackLock} from '../lib/stack/lock.js'

export default class Stop extends StackctlCommand {
  static override summary = 'Stop the stack’s containers and keep them (start brings them back)'
  static override description = `Stops the API, then PostgreSQL, and keeps both containers, the network and the data volume as they are (like \
docker compose stop). PostgreSQL gets its clean shutdown: SIGINT and up to 60 s before it is killed. \
stackctl start starts the same containers again; stackctl down removes them (the volume is kept either way). \
A stack that is already stopped is left as it is (exit 0).`
  static override examples = [
    '<%= config.bin %> stop',
    '<%= config.bin %> stop --project-name demo --dir ./demo/.stackctl',
    '<%= config.bin %> stop --json',
  ]
  static override enableJsonFlag = true
  static override flags = {...stackFlags, ...displayFlags}

  async run(): Promise<LifecycleResult> {
    const {flags} = await this.parse(Stop)
    const display = this.stepDisplay(flags)
    const ctx = await loadStack(configInput(flags), {...display.sinks, engines: this.engines})
    const result = await display.around(() =>
      withInterrupts((signal) => withStackLock(ctx, 'stop', () => stopStack(ctx, {signal}))),
    )
    this.log(describeLifecycle(result, commandsFor(ctx.config)))
    return result
  }
}
