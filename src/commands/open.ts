import {Args, Flags} from '@oclif/core'

import {StackctlCommand} from '../lib/cli/base-command.js'
import {configInput, stackFlags} from '../lib/cli/flags.js'
import {loadStack} from '../lib/stack/context.js'
import {openStack, type OpenResult} from '../lib/targets/compose/open.js'

export default class Open extends StackctlCommand {
  static override summary = 'Print the running stack’s URL and open it in a browser where one can be started'
  static override description = `Prints the API's URL (a path may follow, e.g. /visits?limit=5) and starts $BROWSER, or the platform's \
opener (xdg-open with a display, open on macOS), on it. Where there is none (over SSH, in CI) it only prints the URL. \
Fails with a hint when the stack is not running.`
  static override examples = [
    '<%= config.bin %> open',
    "<%= config.bin %> open '/visits?limit=5'",
    '<%= config.bin %> open --print --project-name demo',
  ]
  static override enableJsonFlag = true
  static override args = {
    path: Args.string({description: 'A path on the API, starting with /', required: false}),
  }
  static override flags = {
    ...stackFlags,
    print: Flags.boolean({summary: 'Only print the URL, start no browser'}),
  }

  async run(): Promise<OpenResult> {
    const {args, flags} = await this.parse(Open)
    const ctx = await loadStack(configInput(flags), {engines: this.engines})
    const result = await openStack(ctx, {path: args.path, print: flags.print || this.jsonEnabled()})
    this.log(result.url)
    if (!result.opened && !flags.print) this.logToStderr(`not opening a browser: ${result.reason}`)
    return result
  }
}
