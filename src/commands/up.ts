import {Flags, type Interfaces} from '@oclif/core'
import path from 'node:path'

import {StackctlCommand} from '../lib/base-command.js'
import {DEFAULTS} from '../lib/config/stack-config.js'
import {UsageError} from '../lib/errors.js'
import {adoptFlag, configFlags, configInput, displayFlags, timeoutFlag} from '../lib/flags.js'
import {withInterrupts} from '../lib/interrupt.js'
import {withStackLock} from '../lib/stack/lock.js'
import {DEFAULT_DEV_SOURCE, devToolchain} from '../lib/stack/dev-mode.js'
import {loadStack} from '../lib/stack/context.js'
import {imageResolver} from '../lib/stack/image-resolver.js'
import {buildLocalImages, buildMissingLocalImages} from '../lib/stack/local-images.js'
import {upStack, type UpResult} from '../lib/stack/up.js'
import {cleanLeftovers} from '../lib/upgrade/leftovers.js'
import {assertSwarmFlagsFit, deployTargetFlag, swarmDeployFlags} from '../lib/cluster/flags.js'
import {loadSwarm} from '../lib/cluster/context.js'
import {deploySwarmStack, type SwarmUpResult} from '../lib/cluster/deploy.js'
import {megabytes} from '../lib/images/builder.js'

/** What `up --json` prints: the Compose stack, or the stack on a swarm with --target swarm. */
export type UpReport = UpResult | SwarmUpResult

export default class Up extends StackctlCommand {
  static override summary = 'Render the stack, build the API image, start it and wait until it is healthy'
  static override description = `Renders docker-compose.yml into the stack directory, builds the API image, starts PostgreSQL and the API \
through Docker Compose and waits until both report healthy, then prints the URL. On a running, unchanged \
stack nothing is recreated. The data lives on the named volume <project>_postgres_data and survives down/up.`
  static override examples = [
    '<%= config.bin %> up',
    '<%= config.bin %> up --port 8080 --project-name demo',
    '<%= config.bin %> up --image-source local --timeout 180',
    '<%= config.bin %> up --db-port 5432',
    '<%= config.bin %> up --dev',
    '<%= config.bin %> up --target swarm --replicas 3',
    '<%= config.bin %> up --target swarm --docker-host ssh://admin@manager --registry registry.example.com:5000',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...configFlags,
    ...adoptFlag,
    build: Flags.boolean({summary: 'Rebuild the API image even if it exists'}),
    ...timeoutFlag,
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
    assertSwarmFlagsFit(flags.target, flags, Object.keys(swarmDeployFlags))
    if (flags.target === 'swarm') return this.swarm(flags)
    if (flags.dev) await devToolchain() // an installed package cannot: said before anything is written
    const display = this.stepDisplay(flags)
    const ctx = await loadStack(configInput(flags), {...display.sinks, engines: this.engines})
    const resolver = imageResolver(ctx.engine, (pgMajor) => buildLocalImages(ctx.engine, display.detail, pgMajor))
    // Ctrl-C stops Compose gracefully and still releases the lock, so the next up needs no cleanup.
    const result = await display.around(() =>
      withInterrupts((signal) =>
        withStackLock(ctx, 'up', async () => {
          await cleanLeftovers(ctx)
          return upStack(ctx, resolver, {
            build: flags.build,
            force: flags.force,
            devSource: flags.dev ? (flags['dev-source'] ?? DEFAULT_DEV_SOURCE) : undefined,
            signal,
          })
        }),
      ),
    )
    this.log(`stack '${result.project}' is up in ${result.seconds.toFixed(1)}s: ${result.url}`)
    if (!flags.quiet) for (const line of closingBlock(result, flags.dev)) this.log(line)
    return result
  }

  private async swarm(flags: Interfaces.InferredFlags<typeof Up.flags>): Promise<SwarmUpResult> {
    if (flags.dev || flags.adopt || flags['db-port'] !== undefined) {
      throw new UsageError('--dev, --adopt and --db-port only apply to --target compose', 'omit them')
    }
    const progress = (line: string) => this.logToStderr(line)
    const sw = await loadSwarm(
      {...configInput(flags), dockerHost: flags['docker-host']},
      {progress, engines: this.engines},
    )
    const resolver = imageResolver(sw.stack.engine, () =>
      buildMissingLocalImages(sw.stack.engine, sw.stack.config.pgMajor, progress),
    )
    const result = await withInterrupts((signal) =>
      withStackLock(sw.stack, 'up', () =>
        deploySwarmStack(sw, resolver, {
          replicas: flags.replicas,
          dbNode: flags['db-node'],
          registry: flags.registry,
          signal,
        }),
      ),
    )
    for (const image of result.images) {
      const where =
        image.via === 'present'
          ? 'already on its nodes'
          : `${image.via === 'load' ? 'loaded onto' : 'pushed to'} ${image.to.join(', ')}`
      this.log(`image ${image.image} (${megabytes(image.sizeBytes)}): ${where}`)
    }
    this.log(result.network)
    this.log(`stack '${result.project}' is up on the swarm in ${result.seconds.toFixed(1)}s: ${result.url}`)
    this.log(`db on ${result.dbNode}, app ${result.replicas.app}; data volume ${result.volume} on ${result.dbNode}`)
    return result
  }
}

/** What a user wants after up: where the data is and how much, where the files are, what to run next. */
export function closingBlock(result: UpResult, dev: boolean, cwd = process.cwd()): string[] {
  // The stack directory remembers the project: it is all a later command needs, and only when not the default.
  const dir = result.dir === path.resolve(cwd, DEFAULTS.dir) ? '' : ` --dir ${shellWord(result.dir)}`
  const visits = result.visits === null ? '' : `, ${result.visits} ${result.visits === 1 ? 'visit' : 'visits'}`
  return [
    `  data      volume ${result.volume.name}${visits}`,
    `  files     ${result.dir}`,
    ...(result.dbUrl ? [`  database  ${result.dbUrl} (stackctl db url${dir} --show-password adds the password)`] : []),
    `  next      stackctl logs${dir} app --follow · stackctl psql${dir} · stackctl down${dir}`,
    ...(dev ? ['  dev       saving a file under the source reloads the API'] : []),
  ]
}

/** A path as one word for a POSIX shell: bare when it is safe, single-quoted otherwise. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`
}
