import {Flags} from '@oclif/core'

import {StackctlCommand} from '../lib/base-command.js'
import {adoptFlag, configFlags, configInput, timeoutFlag} from '../lib/flags.js'
import {withInterrupts} from '../lib/interrupt.js'
import {withStackLock} from '../lib/stack/lock.js'
import {DEFAULT_DEV_SOURCE} from '../lib/stack/dev-mode.js'
import {loadStack} from '../lib/stack/context.js'
import {imageResolver} from '../lib/stack/image-resolver.js'
import {buildLocalImages} from '../lib/stack/local-images.js'
import {upStack, type UpResult} from '../lib/stack/up.js'

export default class Up extends StackctlCommand {
  static override summary = 'Render the stack, build the API image, start it and wait until it is healthy'
  static override description = `Renders docker-compose.yml into the stack directory, builds the API image, starts PostgreSQL and the API
through Docker Compose and waits until both report healthy, then prints the URL. On a running, unchanged stack
nothing is recreated. The data lives on the named volume <project>_postgres_data and survives down/up.`
  static override examples = [
    '<%= config.bin %> up',
    '<%= config.bin %> up --port 8080 --project-name demo',
    '<%= config.bin %> up --image-source local --timeout 180',
    '<%= config.bin %> up --dev',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...configFlags,
    ...adoptFlag,
    build: Flags.boolean({summary: 'Rebuild the API image even if it exists'}),
    ...timeoutFlag,
    force: Flags.boolean({summary: 'Overwrite a hand-edited docker-compose.yml'}),
    dev: Flags.boolean({
      summary: 'Development mode: run the API from src/api through a bind mount and reload it on save',
    }),
    'dev-source': Flags.string({
      summary: 'With --dev: the API source directory to mount [default: src/api of this checkout]',
      env: 'STACKCTL_DEV_SOURCE',
      dependsOn: ['dev'],
    }),
  }

  async run(): Promise<UpResult> {
    const {flags} = await this.parse(Up)
    const ctx = await loadStack(configInput(flags), {progress: (line) => this.logToStderr(line)})
    const resolver = imageResolver(ctx.engine, (pgMajor) => buildLocalImages((line) => this.logToStderr(line), pgMajor))
    // Ctrl-C stops Compose gracefully and still releases the lock, so the next up needs no cleanup.
    const result = await withInterrupts((signal) =>
      withStackLock(ctx, 'up', () =>
        upStack(ctx, resolver, {
          build: flags.build,
          force: flags.force,
          devSource: flags.dev ? (flags['dev-source'] ?? DEFAULT_DEV_SOURCE) : undefined,
          signal,
        }),
      ),
    )
    this.log(`stack '${result.project}' is up in ${result.seconds.toFixed(1)}s: ${result.url}`)
    this.log(`data volume: ${result.volume.name}`)
    if (flags.dev)
      this.log('development mode: saving a file under the source reloads the API; see stackctl logs app --follow')
    return result
  }
}
