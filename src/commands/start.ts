import {StackctlCommand} from '../lib/cli/base-command.js'
import {commandsFor} from '../lib/model/config/command-line.js'
import {configInput, displayFlags, stackFlags, timeoutFlag} from '../lib/cli/flags.js'
import {withInterrupts} from '../lib/cli/interrupt.js'
import {loadStack} from '../lib/stack/context.js'
import {describeLifecycle, startStack, type LifecycleResult} from '../lib/targets/compose/lifecycle.js'
import {withStackLock} from '../lib/stack/lock.js'

export default class Start extends StackctlCommand {
  static override summary = 'Start a stopped stack’s containers again and wait until they are healthy'
  static override description = `Starts the stack's existing containers (PostgreSQL first, then the API) and waits until both report healthy, \
like up does, then prints the URL. Nothing is created, re-rendered or rebuilt: a stack taken down with \
stackctl down has no containers to start, and stackctl up creates them. Ctrl-C while starting stops the \
containers again, so the stack is left stopped as it was found (exit 130).`
  static override examples = [
    '<%= config.bin %> start',
    '<%= config.bin %> start --project-name demo --dir ./demo/.stackctl --timeout 180',
    '<%= config.bin %> start --json',
  ]
  static override enableJsonFlag = true
  static override flags = {...stackFlags, ...timeoutFlag, ...displayFlags}

  async run(): Promise<LifecycleResult> {
    const {flags} = await this.parse(Start)
    const display = this.stepDisplay(flags)
    const ctx = await loadStack(configInput(flags), {...display.sinks, engines: this.engines})
    const result = await display.around(() =>
      withInterrupts((signal) => withStackLock(ctx, 'start', () => startStack(ctx, {signal}))),
    )
    this.log(describeLifecycle(result, commandsFor(ctx.config)))
    return result
  }
}
