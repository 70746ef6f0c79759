import {StackctlCommand} from '../lib/cli/base-command.js'
import {commandsFor} from '../lib/model/config/command-line.js'
import {configInput, displayFlags, stackFlags, timeoutFlag} from '../lib/cli/flags.js'
import {withInterrupts} from '../lib/cli/interrupt.js'
import {loadStack} from '../lib/stack/context.js'
import {describeLifecycle, restartStack, type LifecycleResult} from '../lib/targets/compose/lifecycle.js'
import {withStackLock} from '../lib/stack/lock.js'

export default class Restart extends StackctlCommand {
  static override summary = 'Stop and start the stack’s containers, then wait until they are healthy'
  static override description = `Stops the API and PostgreSQL (a clean shutdown), starts the same containers again and waits until both \
report healthy. The containers, the network and the data volume are kept; nothing is re-rendered or rebuilt \
(stackctl up does that). Ctrl-C while stopping finishes the stop; while starting, stops the containers \
again: either way the stack is left stopped, and stackctl start starts it (exit 130).`
  static override examples = [
    '<%= config.bin %> restart',
    '<%= config.bin %> restart --project-name demo --dir ./demo/.stackctl',
    '<%= config.bin %> restart --json',
  ]
  static override enableJsonFlag = true
  static override flags = {...stackFlags, ...timeoutFlag, ...displayFlags}

  async run(): Promise<LifecycleResult> {
    const {flags} = await this.parse(Restart)
    const display = this.stepDisplay(flags)
    const ctx = await loadStack(configInput(flags), {...display.sinks, engines: this.engines})
    const result = await display.around(() =>
      withInterrupts((signal) => withStackLock(ctx, 'restart', () => restartStack(ctx, {signal}))),
    )
    this.log(describeLifecycle(result, commandsFor(ctx.config)))
    return result
  }
}
