/**
 * `stackctl verify-persistence` on Compose: the stack on this engine as the one persistence pipeline
 * (operations/verify/verify.ts) sees it, and its disruptions:
 *  - down:     write the visits, then `compose down` (the volume stays);
 *  - recreate: write the visits, then `compose up --force-recreate`;
 *  - kill:     SIGKILL the db container while visits are in flight, then `compose down`.
 * After each, the proof from the Docker API (not Compose's word) that the old containers are gone and the data
 * volume is the very same one; the relaunch is `up`, which must not create the volume again.
 *
 * The stack is left as it was found: started for the check and stopped afterwards only if it was not running,
 * relaunched in any case when the check took it down. The data volume is never deleted.
 */
import {appUrl} from '../../model/config/stack-config.js'
import {stackCommand} from '../../model/config/command-line.js'
import type {ContainerSummary, VolumeWatch} from '../../engine/engine.js'
import {UsageError} from '../../errors.js'
import type {StackContext} from '../../stack/context.js'
import type {ImageResolver} from '../../stack/images.js'
import {isHealthy, stackStatus} from '../../stack/status.js'
import {phaseRunner, type StepRunner} from '../../plan/runner.js'
import {Psql} from '../../operations/db/psql.js'
import {auditDurability, type DurabilityReport} from '../../operations/verify/audit.js'
import {snapshotProblems, verificationProblems} from '../../operations/verify/checks.js'
import {containerMounts, runningDbContainer, volumeCreatedAt} from '../../operations/verify/evidence.js'
import {writeWhileKilling} from '../../operations/verify/kill.js'
import {VisitWriter, type WriteResult} from '../../operations/verify/load.js'
import type {CheckSettings, TeardownMode} from '../../operations/verify/options.js'
import type {PersistenceResult} from '../../operations/verify/result.js'
import {
  findMissingIds,
  readServerSettings,
  systemIdentifier,
  takeSnapshot,
  type Snapshot,
} from '../../operations/verify/sql.js'
import {describeMode, gatherTeardownEvidence, tearDown, teardownProblems} from '../../operations/verify/teardown.js'
import {
  verifyWithDisruption,
  type CheckedStack,
  type Disruption,
  type PreparedStack,
  type StackReport,
  type VerifyHooks,
  type Writes,
} from '../../operations/verify/verify.js'
import {downStack} from './down.js'
import {upStack} from './up.js'

export interface VerifyOptions extends CheckSettings {
  keepRunning?: boolean
  resolver: ImageResolver
  hooks?: VerifyHooks
  requestTimeoutMs?: number
  /** Ctrl-C/SIGTERM: see PipelineSettings.signal. */
  signal?: AbortSignal
  /** The command's step runner (its display); without one, the steps are reported as ctx's phases. */
  steps?: StepRunner
}

/** The Compose check: the one pipeline over the stack on this engine and the disruption `--mode` names. */
export async function verifyPersistence(ctx: StackContext, options: VerifyOptions): Promise<PersistenceResult> {
  const stack = new ComposeCheckedStack(ctx, options.mode, options.resolver)
  return verifyWithDisruption(stack, composeDisruption(stack, options.mode), {
    visits: options.visits,
    concurrency: options.concurrency,
    requestTimeoutMs: options.requestTimeoutMs,
    keepRunning: options.keepRunning,
    hooks: options.hooks,
    signal: options.signal,
    steps: options.steps ?? phaseRunner(ctx),
    progress: ctx.progress,
  })
}

/** What the stack looked like before the writes. */
interface Baseline {
  containers: ContainerSummary[]
  watch: VolumeWatch
  volumeCreated: string | undefined
  systemId: string
  snapshot: Snapshot
}

interface Verified {
  after: Snapshot
  old: Snapshot
  systemId: string
}

/** The Compose stack as the pipeline sees it: measured through psql in its db container and the Docker API. */
export class ComposeCheckedStack implements CheckedStack {
  readonly project: string
  readonly volume: string
  readonly again: string
  baselineTaken?: Baseline
  /** The rows before the disruption (kill mode: the baseline — the database cannot be asked while it is killed). */
  reference?: Snapshot
  destroyEventsAtTeardown?: number
  volumeCreatedAfter?: string
  private watch?: VolumeWatch
  private verified?: Verified
  private durability?: DurabilityReport

  constructor(
    readonly ctx: StackContext,
    private readonly mode: TeardownMode,
    private readonly resolver: ImageResolver,
  ) {
    this.project = ctx.config.project
    this.volume = ctx.config.volume
    this.again = stackCommand(ctx.config, 'verify-persistence')
  }

  async prepare(): Promise<PreparedStack> {
    const status = await stackStatus(this.ctx)
    if (status.mode === 'dev') {
      // A relaunch renders the built app; it would silently take the stack out of development mode.
      throw new UsageError(
        `the stack '${status.project}' runs in development mode (up --dev); the check relaunches the built stack`,
        `run ${stackCommand(this.ctx.config, 'up')} (without --dev) first, or check another stack with --project-name`,
      )
    }
    const foundRunning = status.services.some((s) => s.state === 'running')
    const startedStack = !isHealthy(status)
    // Even on a healthy stack: up recreates nothing on a running, unchanged stack, and whatever would make the
    // relaunch fail (a hand-edited compose file, a changed setting, a missing image) shows now, before teardown.
    await upStack(this.ctx, this.resolver)
    return {url: appUrl(this.ctx.config), foundRunning, startedStack}
  }

  async baseline(): Promise<string[]> {
    const {engine, config} = this.ctx
    const containers = await engine.containers.list({project: config.project})
    const watch = (this.watch = await engine.volumes.watch(this.volume))
    const psql = await this.psql()
    this.baselineTaken = {
      containers,
      watch,
      volumeCreated: await volumeCreatedAt(engine, this.volume),
      systemId: await systemIdentifier(psql),
      snapshot: await takeSnapshot(psql),
    }
    return []
  }

  async snapshot(written: WriteResult): Promise<string[]> {
    const snapshot = await takeSnapshot(await this.psql())
    this.reference = snapshot
    return snapshotProblems(this.taken().snapshot, snapshot, written.acknowledged)
  }

  /** The teardown (down, recreate, or the down after a kill), and the proof that it did what the mode says. */
  async tearDown(): Promise<string[]> {
    const baseline = this.taken()
    await tearDown(this.ctx, this.mode)
    const current = await this.ctx.engine.containers.list({project: this.project})
    this.destroyEventsAtTeardown = baseline.watch.destroyEvents
    const evidence = await gatherTeardownEvidence(
      this.ctx,
      this.mode,
      baseline.containers,
      this.volume,
      baseline.volumeCreated,
      current,
      this.destroyEventsAtTeardown,
    )
    return teardownProblems(evidence)
  }

  /** `up` again; the volume must not be created anew on the way. */
  async relaunch(): Promise<string[]> {
    await upStack(this.ctx, this.resolver, {shield: true})
    this.volumeCreatedAfter = await volumeCreatedAt(this.ctx.engine, this.volume)
    const removed = this.taken().watch.destroyEvents - (this.destroyEventsAtTeardown ?? 0)
    return removed > 0 ? [`the volume ${this.volume} was removed and created again during the relaunch`] : []
  }

  /** The rows that must be unchanged are those up to the highest id of the reference snapshot. */
  async verify(written: WriteResult): Promise<{missing: number[]; problems: string[]}> {
    const baseline = this.taken()
    const reference = this.reference ?? baseline.snapshot
    const psql = await this.psql()
    const after = await takeSnapshot(psql)
    const old = await takeSnapshot(psql, reference.maxId)
    const missing = await findMissingIds(psql, written.acknowledgedIds)
    const systemId = await systemIdentifier(psql)
    this.verified = {after, old, systemId}
    const problems = verificationProblems({
      mode: this.mode,
      baseline: baseline.snapshot,
      reference,
      written,
      after,
      old,
      missing,
      systemIdentifierBefore: baseline.systemId,
      systemIdentifierAfter: systemId,
    })
    return {missing, problems}
  }

  async audit(): Promise<string[]> {
    const db = (await this.db()).id
    const {durability, reasons} = auditDurability({
      settings: await readServerSettings(new Psql(this.ctx.engine, db)),
      mounts: await containerMounts(this.ctx.engine, db),
      expectedVolume: this.volume,
    })
    this.durability = durability
    return reasons
  }

  async start(): Promise<void> {
    await upStack(this.ctx, this.resolver, {shield: true})
  }

  /** `down` here never takes the volume with it. */
  async stop(): Promise<void> {
    await downStack(this.ctx, {volumes: false})
  }

  async healthy(): Promise<boolean> {
    return isHealthy(await stackStatus(this.ctx))
  }

  async sql(query: string): Promise<string> {
    return (await this.psql()).query(query)
  }

  close(): void {
    this.watch?.close()
  }

  report(): StackReport {
    const baseline = this.baselineTaken
    const {verified} = this
    return {
      baseline: baseline?.snapshot.total ?? null,
      before: this.reference?.total ?? null,
      after: verified?.after.total ?? null,
      checksumBefore: this.reference?.checksum ?? null,
      checksumAfter: verified?.old.checksum ?? null,
      durability: this.durability ?? null,
      volume: {
        name: this.volume,
        createdAtBefore: baseline?.volumeCreated ?? null,
        createdAtAfter: this.volumeCreatedAfter ?? null,
        removedDuringCheck: (baseline?.watch.destroyEvents ?? 0) > 0,
        systemIdentifierBefore: baseline?.systemId ?? null,
        systemIdentifierAfter: verified?.systemId ?? null,
      },
      swarm: null,
    }
  }

  taken(): Baseline {
    if (!this.baselineTaken) throw new Error('the baseline was not taken')
    return this.baselineTaken
  }

  async db(): Promise<ContainerSummary> {
    return runningDbContainer(this.ctx.engine, this.project)
  }

  /** psql in the db container running now (it changes across teardown and relaunch). */
  async psql(): Promise<Psql> {
    return new Psql(this.ctx.engine, (await this.db()).id)
  }
}

/** The disruption `--mode` names, over the Compose stack. */
export function composeDisruption(stack: ComposeCheckedStack, mode: TeardownMode): Disruption {
  return {
    mode,
    step: 'teardown',
    dbDownAfterWrites: mode === 'kill',
    async write(url, {visits, concurrency, requestTimeoutMs}, signal): Promise<Writes> {
      const writer = new VisitWriter({url, visits, concurrency, requestTimeoutMs, stack: stack.ctx.state?.stackId})
      const stop = () => writer.stop()
      signal?.addEventListener('abort', stop, {once: true})
      try {
        if (mode === 'kill') {
          const outcome = await writeWhileKilling(stack.ctx.engine, (await stack.db()).id, writer, visits)
          // The rows that must be unchanged: the baseline's (the database cannot be asked while it is killed).
          stack.reference = stack.taken().snapshot
          return {
            written: outcome.written,
            kill: outcome.kill,
            problems: outcome.problems,
            dbDown: outcome.kill !== null,
          }
        }
        const written = await writer.run()
        const {failed, attempted, errors} = written
        const problems =
          failed === 0 ? [] : [`${failed} of ${attempted} visits were not acknowledged (${errors.join(', ')})`]
        return {written, kill: null, problems}
      } finally {
        signal?.removeEventListener('abort', stop)
      }
    },
    async disrupt() {
      return {description: describeMode(mode), problems: await stack.tearDown()}
    },
    relaunch: () => stack.relaunch(),
  }
}
