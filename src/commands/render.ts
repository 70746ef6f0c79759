import {Flags} from '@oclif/core'

import {StackctlCommand} from '../lib/base-command.js'
import {adoptFlag, configFlags, configInput} from '../lib/flags.js'
import {withStackLock} from '../lib/stack/lock.js'
import {loadStack} from '../lib/stack/context.js'
import {offlineResolver} from '../lib/stack/image-resolver.js'
import {renderStack} from '../lib/stack/render-stack.js'

export interface RenderResult {
  composeFile: string
  written: boolean
  images: {source: string; postgres: string; node: string}
}

export default class Render extends StackctlCommand {
  static override summary =
    'Write the stack files (docker-compose.yml, build context, password) without starting anything'
  static override examples = ['<%= config.bin %> render', '<%= config.bin %> render --stdout --port 8080']
  static override enableJsonFlag = true
  static override flags = {
    ...configFlags,
    ...adoptFlag,
    stdout: Flags.boolean({summary: 'Print the rendered docker-compose.yml instead of writing files'}),
    force: Flags.boolean({summary: 'Overwrite a hand-edited docker-compose.yml'}),
  }

  async run(): Promise<RenderResult> {
    const {flags} = await this.parse(Render)
    const ctx = await loadStack(configInput(flags))
    await ctx.engine.ping()
    const render = () => renderStack(ctx, offlineResolver(ctx.engine), {force: flags.force, write: !flags.stdout})
    const rendered = flags.stdout ? await render() : await withStackLock(ctx, 'render', render)
    if (flags.stdout) this.log(rendered.composeText.trimEnd())
    else this.log(`${rendered.written ? 'wrote' : 'unchanged'} ${ctx.paths.composeFile}`)
    return {composeFile: ctx.paths.composeFile, written: rendered.written, images: rendered.images}
  }
}
