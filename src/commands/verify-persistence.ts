import {Flags, type Interfaces} from '@oclif/core'

import {StackctlCommand} from '../lib/base-command.js'
import {adoptFlag, configFlags, configInput, displayFlags, timeoutFlag} from '../lib/flags.js'
import {withInterrupts} from '../lib/interrupt.js'
import {CHECK_DEFAULTS, parseCheckSettings, TEARDOWN_MODES} from '../lib/persistence/options.js'
import {renderReport} from '../lib/persistence/report.js'
import type {PersistenceResult} from '../lib/persistence/result.js'
import {verifyPersistence} from '../lib/persistence/verify.js'
import {loadStack} from '../lib/stack/context.js'
import {withStackLock} from '../lib/stack/lock.js'
import {imageResolver} from '../lib/stack/image-resolver.js'
import {buildLocalImages, buildMissingLocalImages} from '../lib/stack/local-images.js'
import {StepRunner} from '../lib/steps/runner.js'
import {assertSwarmFlagsFit, deployTargetFlag, swarmTargetFlags} from '../lib/cluster/flags.js'
import {loadSwarm} from '../lib/cluster/context.js'
import {
  describeSwarmCheck,
  SWARM_MODES,
  verifySwarmPersistence,
  type SwarmMode,
  type SwarmPersistenceResult,
} from '../lib/cluster/verify.js'
import {UsageError} from '../lib/errors.js'

/** What `verify-persistence --json` prints, per target. */
export type VerifyReport = PersistenceResult | SwarmPersistenceResult

export default class VerifyPersistence extends StackctlCommand {
  static override summary = 'Prove that acknowledged visits survive the stack being torn down and relaunched'
  static override description = `Writes visits through the API, records the id of every acknowledged one, tears the stack down (compose down, \
a forced recreate, or a SIGKILL of PostgreSQL while writes are in flight), proves through the Docker API \
that the containers are gone and the volume is the same, relaunches and checks that every acknowledged visit \
is there, the older rows are unchanged and the totals add up. It also audits fsync, synchronous_commit, \
full_page_writes and whether the data directory is on the stack's named volume.

With --target swarm (the stack deployed with up --target swarm), the modes are: down (docker stack rm, then \
a new deploy), kill (SIGKILL of the db container while visits are written; swarm restarts it on its pinned \
node) and drain (a node running an API replica but not the db is drained while visits are written through \
the URL: none may fail; the node is made active again afterwards).

The stack is left as found: started for the check and stopped afterwards only if it was not running. The \
data volume is never deleted. Exit 0 when the check passed, 1 when it failed, 2 for usage or environment \
problems.`
  static override examples = [
    '<%= config.bin %> verify-persistence',
    '<%= config.bin %> verify-persistence --visits 1000 --concurrency 16',
    '<%= config.bin %> verify-persistence --mode kill --visits 200 --concurrency 16 --json',
    '<%= config.bin %> verify-persistence --mode recreate --project-name demo --keep-running',
    '<%= config.bin %> verify-persistence --target swarm --mode drain',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...configFlags,
    ...adoptFlag,
    visits: Flags.string({summary: `Visits to write through the API [default: ${CHECK_DEFAULTS.visits}]`}),
    concurrency: Flags.string({summary: `Concurrent clients writing them [default: ${CHECK_DEFAULTS.concurrency}]`}),
    mode: Flags.string({
      summary: `How to take the stack apart [default: ${CHECK_DEFAULTS.mode}]`,
      options: [...new Set([...TEARDOWN_MODES, ...SWARM_MODES])],
    }),
    'keep-running': Flags.boolean({summary: 'Leave the stack running afterwards even if it was not running before'}),
    ...timeoutFlag,
    ...displayFlags,
    ...deployTargetFlag,
    ...swarmTargetFlags,
  }

  async run(): Promise<VerifyReport> {
    const {flags} = await this.parse(VerifyPersistence)
    assertSwarmFlagsFit(flags.target, flags, Object.keys(swarmTargetFlags))
    if (flags.target === 'swarm') return this.swarm(flags)
    const settings = parseCheckSettings(flags)
    const display = this.stepDisplay(flags)
    const steps = new StepRunner({reporter: display})
    const ctx = await loadStack(configInput(flags), {...display.sinks, phase: steps.phase, engines: this.engines})
    const resolver = imageResolver(ctx.engine, (pgMajor) => buildLocalImages(ctx.engine, display.detail, pgMajor))
    const result = await display.around(() =>
      withInterrupts((signal) =>
        withStackLock(ctx, 'verify-persistence', () =>
          verifyPersistence(ctx, {...settings, keepRunning: flags['keep-running'], resolver, signal, steps}),
        ),
      ),
    )
    for (const line of renderReport(result)) this.log(line)
    // A failed check still prints its whole result (with --json, oclif prints the returned object), then exits
    // 1 — or 2 when a usage or environment problem cut it short.
    if (!result.passed) process.exitCode = result.aborted?.exitCode === 2 ? 2 : 1
    return result
  }

  private async swarm(
    flags: Interfaces.InferredFlags<typeof VerifyPersistence.flags>,
  ): Promise<SwarmPersistenceResult> {
    const mode = (flags.mode ?? 'down') as SwarmMode
    if (!(SWARM_MODES as readonly string[]).includes(mode)) {
      throw new UsageError(`--mode ${mode} does not apply to --target swarm`, `use one of: ${SWARM_MODES.join(', ')}`)
    }
    if (flags.adopt || flags['keep-running']) {
      throw new UsageError('--adopt and --keep-running only apply to --target compose', 'omit them')
    }
    const settings = parseCheckSettings({visits: flags.visits, concurrency: flags.concurrency})
    const progress = (line: string) => this.logToStderr(line)
    const sw = await loadSwarm(
      {...configInput(flags), dockerHost: flags['docker-host']},
      {progress, engines: this.engines},
    )
    const resolver = imageResolver(sw.stack.engine, () =>
      buildMissingLocalImages(sw.stack.engine, sw.stack.config.pgMajor, progress),
    )
    const result = await withInterrupts((signal) =>
      withStackLock(sw.stack, 'verify-persistence', () =>
        verifySwarmPersistence(sw, {
          mode,
          visits: settings.visits,
          concurrency: settings.concurrency,
          resolver,
          signal,
        }),
      ),
    )
    for (const line of describeSwarmCheck(result)) this.log(line)
    if (!result.passed) process.exitCode = 1
    return result
  }
}
