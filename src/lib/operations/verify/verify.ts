/**
 * `stackctl verify-persistence`: the one persistence pipeline, whichever the target. A falsifiable proof that
 * acknowledged visits survive a piece of the stack being taken away: prepare → baseline → write → snapshot →
 * disrupt → relaunch → verify every acknowledged id → audit → leave the stack as found.
 *
 * Two ports make it target-independent: the `CheckedStack` (where the stack is: Compose on this engine, or a
 * swarm — it prepares, measures, verifies, audits and starts or stops the stack) and the `Disruption` (how a
 * piece of it is taken away and brought back: compose down, recreate, kill; a swarm's stack rm, task kill,
 * node drain). The pipeline owns what is the same for all of them: the steps on the StepRunner (display, times
 * for --json), the judgement (a lost acknowledged visit or none acknowledged fails the check), the hooks tests
 * break things with, Ctrl-C/SIGTERM (the step under way finishes, the stack is left as found, exit 130) and the
 * result (one shape, schemaVersion 2).
 */
import createDebug from 'debug'

import {Interrupted, StackctlError} from '../../errors.js'
import {StepRunner} from '../../plan/runner.js'
import type {WriteResult} from './load.js'
import {
  MISSING_SHOWN,
  type FailoverReport,
  type KillReport,
  type PersistenceResult,
  type PhaseResult,
  type VerifyMode,
} from './result.js'

const debug = createDebug('stackctl:persistence')

/** `the volume v was not touched`, or `the volumes a, b, c were …` for an HA stack's members. */
function volumesUntouched(volume: string): string {
  return volume.includes(', ') ? `the volumes ${volume} were not touched` : `the volume ${volume} was not touched`
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** What hooks see: enough to break things on purpose in tests. */
export interface CheckRun {
  mode: VerifyMode
  acknowledgedIds: readonly number[]
  /** Runs SQL in the database that is running at the time of the call. */
  sql: (query: string) => Promise<string>
}

export interface VerifyHooks {
  beforeTeardown?: (run: CheckRun) => Promise<void> | void
  afterTeardown?: (run: CheckRun) => Promise<void> | void
  beforeVerify?: (run: CheckRun) => Promise<void> | void
}

/** How the stack was found, from prepare. */
export interface PreparedStack {
  /** Where visits are written. */
  url: string
  /** Some of its services were running. */
  foundRunning: boolean
  /** The check had to start (or heal) it: it stops it again afterwards unless it was found running. */
  startedStack: boolean
}

/** The parts of the result only the stack knows. */
export type StackReport = Pick<
  PersistenceResult,
  'baseline' | 'before' | 'after' | 'checksumBefore' | 'checksumAfter' | 'durability' | 'volume' | 'swarm'
>

/** What was done to the stack, for the stack's report. */
export interface DisruptionReport {
  description: string
  failover?: FailoverReport
}

/** The stack under check, as the pipeline sees it (a target implements it). */
export interface CheckedStack {
  readonly project: string
  readonly volume: string
  /** The command that runs the check again: the hint of an interrupted check. */
  readonly again: string
  /**
   * Refuses a stack that cannot be checked and starts (or heals) one that is not serving. A throw here is the
   * environment's (engine, images, port, a stack that is not deployed): the check ends with that error.
   */
  prepare(): Promise<PreparedStack>
  /** What the later steps compare against, taken before the writes; its problems fail the check. */
  baseline?(): Promise<string[]>
  /** The rows after the writes and before the disruption; its problems fail the check. */
  snapshot?(written: WriteResult): Promise<string[]>
  /** After the relaunch: the acknowledged ids the database no longer has, and every problem with the rows. */
  verify(written: WriteResult): Promise<{missing: number[]; problems: string[]}>
  /** What is wrong with where and how the data is kept. */
  audit(): Promise<string[]>
  /** Leaving the stack as found: starting it again (never replacing data), stopping it (never its volume). */
  start(): Promise<void>
  stop(): Promise<void>
  /** Whether it serves now: after an interrupt the pipeline looks instead of trusting what it did. */
  healthy(): Promise<boolean>
  /** SQL in the running database, for the hooks. */
  sql?(query: string): Promise<string>
  report(disruption: DisruptionReport | undefined): StackReport
  /** Lets go of what baseline opened (an event watch). */
  close?(): void
}

/** The writes, their own step when the disruption has one. */
export interface Writes {
  written: WriteResult
  kill: KillReport | null
  problems: string[]
  /** The database was taken down during the writes (a kill was sent): it cannot be asked before the relaunch. */
  dbDown?: boolean
}

export interface DisruptionOutcome extends DisruptionReport {
  /** The writes made while disrupting (a disruption without a write step). */
  written?: WriteResult
  problems: string[]
}

export interface WriteSettings {
  visits: number
  concurrency: number
  requestTimeoutMs?: number
}

/** One way of taking a piece of the stack away while (or after) visits are written, and bringing it back. */
export interface Disruption {
  readonly mode: VerifyMode
  /** The disruption's step in the display and in `phases`. */
  readonly step: string
  /**
   * The orchestrator brings the stack back by itself (a swarm restarts a killed task and moves a drained node's
   * tasks): a disruption that fails half way does not make the check deploy the stack again.
   */
  readonly healsItself?: boolean
  /** The writes end with the database killed: no snapshot before the disruption (the baseline is the reference). */
  readonly dbDownAfterWrites?: boolean
  /** The writes as their own step before the disruption; without it, `disrupt` writes while it disrupts. */
  write?(url: string, settings: WriteSettings, signal?: AbortSignal): Promise<Writes>
  /** Takes the piece away (shielded: once started it finishes, so an interrupt never leaves it half done). */
  disrupt(url: string, settings: WriteSettings, signal?: AbortSignal): Promise<DisruptionOutcome>
  /** Brings the stack back and waits until it serves again; returns what is wrong with how it came back. */
  relaunch(signal?: AbortSignal): Promise<string[] | void>
}

export interface PipelineSettings extends WriteSettings {
  keepRunning?: boolean
  hooks?: VerifyHooks
  /**
   * Ctrl-C/SIGTERM: the writes stop, a disruption or relaunch under way finishes, the stack is left as found,
   * and the check ends with Interrupted (exit 130) saying what it did.
   */
  signal?: AbortSignal
  /** The command's step runner (its display); a silent one without. */
  steps?: StepRunner
  /** Where `verify-persistence: <step>` lines go as each step starts. */
  progress?: (line: string) => void
}

/** The judgement of the writes whichever the target: at least one visit acknowledged, or nothing was proven. */
export const NOTHING_ACKNOWLEDGED = 'no visit was acknowledged, so nothing was proven'

/** Runs `disruption` over `stack`: the one persistence pipeline. */
export async function verifyWithDisruption(
  stack: CheckedStack,
  disruption: Disruption,
  settings: PipelineSettings,
): Promise<PersistenceResult> {
  return new Pipeline(stack, disruption, settings).execute()
}

/** Where the stack is, for leaving it as it was found. */
interface StackCondition {
  foundRunning: boolean
  startedStack: boolean
  /** The first start failed: like `stackctl up`, its containers are left for inspection, not taken down. */
  startFailed: boolean
  /** Taken down by the check (disruption or kill) and not brought back yet. */
  down: boolean
  relaunchTried: boolean
  stopped: boolean
}

/** The stages the check reached; a missing one means its step never succeeded. */
interface Stages {
  prepared?: PreparedStack
  writes?: Writes
  disrupted?: DisruptionOutcome
  verified?: {missing: number[]}
}

type Outcome<T> = {value: T; problems: string[]}

class Pipeline {
  private readonly phases: PhaseResult[] = []
  private readonly reasons: string[] = []
  private readonly stages: Stages = {}
  private readonly condition: StackCondition = {
    foundRunning: false,
    startedStack: false,
    startFailed: false,
    down: false,
    relaunchTried: false,
    stopped: false,
  }
  private aborted: PersistenceResult['aborted'] = null
  /** Why leaving the stack as found failed (its first line), when it did. */
  private notLeftAsFound: string | undefined
  /** The interrupt was seen between phases: the phase it names never started. */
  private stoppedBetweenPhases = false
  private readonly steps: StepRunner

  constructor(
    private readonly stack: CheckedStack,
    private readonly disruption: Disruption,
    private readonly settings: PipelineSettings,
  ) {
    this.steps = settings.steps ?? new StepRunner()
  }

  async execute(): Promise<PersistenceResult> {
    let fatal: unknown
    try {
      await this.prepare()
    } catch (error) {
      fatal = error
    }
    if (!fatal) {
      try {
        await this.run()
      } catch (error) {
        debug('check aborted: %O', error)
      }
    }
    await this.leaveAsFound()
    this.stack.close?.()
    if (this.settings.signal?.aborted) throw this.interrupted()
    // Before anything was touched, a failure is the environment's (engine, images, port): report it as such.
    if (fatal) throw fatal
    return this.result()
  }

  private async prepare(): Promise<void> {
    try {
      this.stages.prepared = await this.phase('prepare', async () => ({
        value: await this.stack.prepare(),
        problems: [],
      }))
    } catch (error) {
      this.condition.startFailed = true
      throw error
    }
    this.condition.foundRunning = this.stages.prepared.foundRunning
    this.condition.startedStack = this.stages.prepared.startedStack
  }

  /** The steps after prepare, each fed by the stages before it. */
  private async run(): Promise<void> {
    const {stack, disruption, settings, condition} = this
    const {url} = this.stages.prepared!
    const baseline = stack.baseline?.bind(stack)
    if (baseline) await this.phase('baseline', async () => ({value: undefined, problems: await baseline()}))
    if (disruption.write) {
      const write = disruption.write.bind(disruption)
      this.stages.writes = await this.phase('write', async () => {
        const writes = await write(url, settings, settings.signal)
        // A kill that was sent took the db down: the stack must be brought back whatever happens next.
        if (writes.dbDown) condition.down = true
        if (settings.signal?.aborted) throw new Interrupted('during the writes')
        return {value: writes, problems: writes.problems}
      })
      const {written} = this.stages.writes
      const snapshot = stack.snapshot?.bind(stack)
      if (snapshot && !disruption.dbDownAfterWrites)
        await this.phase('snapshot', async () => ({value: undefined, problems: await snapshot(written)}))
    }
    await this.hook('beforeTeardown')
    this.stages.disrupted = await this.phase(disruption.step, async () => {
      if (!disruption.healsItself) condition.down = true
      const outcome = await disruption.disrupt(url, settings, settings.signal)
      return {value: outcome, problems: outcome.problems}
    })
    const written = this.stages.writes?.written ?? this.stages.disrupted.written
    if (!written) throw new StackctlError(`the ${disruption.step} step wrote no visits and had no write step`)
    this.stages.writes ??= {written, kill: null, problems: []}
    await this.hook('afterTeardown')
    await this.phase('relaunch', async () => {
      condition.relaunchTried = true
      const problems = (await disruption.relaunch(settings.signal)) ?? []
      condition.down = false
      return {value: undefined, problems}
    })
    await this.hook('beforeVerify')
    this.stages.verified = await this.phase('verify', async () => {
      const {missing, problems} = await stack.verify(written)
      const nothing = written.acknowledged === 0 ? [NOTHING_ACKNOWLEDGED] : []
      return {value: {missing}, problems: [...problems, ...nothing]}
    })
    await this.phase('audit', async () => ({value: undefined, problems: await stack.audit()}))
  }

  /** Runs one step on the runner, timing it; a thrown error fails the step, becomes a reason and ends the check. */
  private async phase<T>(name: string, body: () => Promise<Outcome<T>>): Promise<T> {
    if (this.settings.signal?.aborted && name !== 'leave-as-found') {
      if (this.aborted === null) {
        this.aborted = {phase: name, message: 'interrupted', exitCode: 130}
        this.stoppedBetweenPhases = true
      }
      throw new Interrupted(`before the ${name} phase`)
    }
    this.settings.progress?.(`verify-persistence: ${name}`)
    try {
      // What the step runs (up, down, a deploy) prints inside it; problems show it failed.
      const failedIf = (outcome: Outcome<T>) => outcome.problems.length > 0
      const {value, problems} = await this.steps.step(name, body, {failedIf, shielded: true})
      this.phases.push({name, ms: this.steps.record(name)?.ms ?? 0, ok: problems.length === 0})
      this.reasons.push(...problems)
      return value
    } catch (error) {
      this.phases.push({name, ms: this.steps.record(name)?.ms ?? 0, ok: false})
      this.reasons.push(`${name}: ${errorMessage(error)}`)
      const exitCode = error instanceof StackctlError ? error.exitCode : 1
      this.aborted ??= {phase: name, message: errorMessage(error), exitCode}
      throw error
    }
  }

  private async hook(name: keyof VerifyHooks): Promise<void> {
    const hook = this.settings.hooks?.[name]
    if (!hook) return
    try {
      await hook(this.view())
    } catch (error) {
      this.reasons.push(`${name} hook: ${errorMessage(error)}`)
      this.aborted ??= {phase: name, message: errorMessage(error), exitCode: 1}
      throw error
    }
  }

  private view(): CheckRun {
    return {
      mode: this.disruption.mode,
      acknowledgedIds: this.stages.writes?.written.acknowledgedIds ?? [],
      sql: async (query) => {
        if (!this.stack.sql) throw new StackctlError(`the stack '${this.stack.project}' cannot be asked SQL here`)
        return this.stack.sql(query)
      },
    }
  }

  /**
   * Leaves the stack as found: brought back if the check took it down and it was running (or --keep-running),
   * stopped if the check started it. A start that failed is not undone or repeated: its containers stay for
   * inspection, as `stackctl up` leaves them. Stopping never takes the volume with it.
   */
  private async leaveAsFound(): Promise<void> {
    const {condition, stack} = this
    if (condition.startFailed) return
    const stop = !condition.foundRunning && !this.settings.keepRunning && (condition.startedStack || condition.down)
    if (stop) {
      await this.leaveAsFoundPhase(async () => {
        await stack.stop()
        condition.stopped = true
      })
    } else if ((condition.down && !condition.relaunchTried) || (await this.brokenByInterrupt())) {
      await this.leaveAsFoundPhase(async () => {
        await stack.start()
        condition.down = false
      })
    }
  }

  /** An interrupt can land between a kill and the teardown: whatever the flags say, look at the stack. */
  private async brokenByInterrupt(): Promise<boolean> {
    if (!this.settings.signal?.aborted || !(this.condition.foundRunning || this.settings.keepRunning)) return false
    const healthy = await this.stack.healthy().catch(() => false)
    if (!healthy) this.condition.down = true
    return !healthy
  }

  private async leaveAsFoundPhase(body: () => Promise<void>): Promise<void> {
    try {
      await this.phase('leave-as-found', async () => ({value: await body(), problems: []}))
    } catch (error) {
      debug('leaving the stack as found failed: %O', error)
      this.notLeftAsFound = errorMessage(error).split('\n')[0]
    }
  }

  private leftRunning(): boolean {
    return !this.condition.down && !this.condition.stopped
  }

  private interrupted(): Interrupted {
    const stoppedIn = this.aborted?.phase ?? this.phases.at(-1)?.name ?? 'prepare'
    const left = this.leftRunning() ? 'running' : 'stopped'
    // Said only when it is true: a bring-back that failed leaves the stack neither as found nor stopped by us.
    const how =
      this.notLeftAsFound !== undefined
        ? `; bringing it back as found failed (${this.notLeftAsFound}): it may not be running healthy`
        : this.phases.some((p) => p.name === 'leave-as-found')
          ? `, brought back as found (${left})`
          : ` (${left}, as found)`
    return new Interrupted(
      `verify-persistence stopped ${this.stoppedBetweenPhases ? 'before' : 'during'} its ${stoppedIn} phase; nothing was verified${how}; ${volumesUntouched(this.stack.volume)}`,
      `run ${this.stack.again} again when you are ready`,
    )
  }

  private result(): PersistenceResult {
    const {writes, disrupted, verified} = this.stages
    const written = writes?.written
    const missing = verified?.missing ?? []
    const report = this.stack.report(disrupted)
    return {
      passed: this.reasons.length === 0 && missing.length === 0,
      mode: this.disruption.mode,
      project: this.stack.project,
      visitsRequested: this.settings.visits,
      concurrency: this.settings.concurrency,
      attempted: written?.attempted ?? 0,
      acknowledged: written?.acknowledged ?? 0,
      baseline: report.baseline,
      before: report.before,
      after: report.after,
      missing: [...missing].sort((a, b) => a - b).slice(0, MISSING_SHOWN),
      missingCount: verified ? missing.length : null,
      checksumBefore: report.checksumBefore,
      checksumAfter: report.checksumAfter,
      durability: report.durability,
      kill: writes?.kill ?? null,
      volume: report.volume,
      phases: this.phases,
      reasons: this.reasons,
      aborted: this.aborted,
      stack: {foundRunning: this.condition.foundRunning, leftRunning: this.leftRunning()},
      swarm: report.swarm,
    }
  }
}
