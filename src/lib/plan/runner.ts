/**
 * The one step runner of a long command: it times each step, nests steps (a step started inside another's body
 * is its child, and the parent ends after its children), keeps the undo of what each step made, and records
 * the steps' times for --json. What it shows goes to a reporter (the step display, src/lib/cli/ui); it knows nothing
 * of stacks.
 *
 * Operations that report flat phases (ctx.phase: `up`, `down`, `backup`) still fit: `phase(label)` ends the
 * previous phase under the same parent and starts the next one there, so `up` run inside an upgrade's switch
 * step prints its steps inside that step.
 */
import {Interrupted} from '../errors.js'

export type StepStatus = 'done' | 'failed'

/** A finished step, in the order steps finished (children before their parent). */
export interface StepRecord {
  name: string
  /** The names of its ancestors, outermost first. */
  parents: string[]
  depth: number
  ms: number
  status: StepStatus
}

/** Where the runner says what happens: the step display implements it. */
export interface StepReporter {
  started(label: string, depth: number): void
  finished(label: string, depth: number, status: StepStatus, ms: number): void
  /** A line of the runner's own (what was undone). */
  line(text: string): void
}

export interface StepRunnerOptions {
  reporter?: StepReporter
  now?: () => number
  /** Ctrl-C: no step starts once it fired (the step under way finishes or fails, its caller undoes). */
  signal?: AbortSignal
}

export interface StepOptions<T> {
  /** A step that returns but found problems is shown and recorded as failed. */
  failedIf?: (result: T) => boolean
  /** Starts even after an interrupt: a step that finishes (or undoes) what an interrupt must not leave half done. */
  shielded?: boolean
}

export interface UndoReport {
  done: string[]
  failed: string[]
}

interface OpenStep {
  name: string
  depth: number
  startedMs: number
  /** Started by phase(): ended by the next phase at its level, or by its parent. */
  flat: boolean
}

const SILENT: StepReporter = {started: () => {}, finished: () => {}, line: () => {}}

export class StepRunner {
  signal: AbortSignal | undefined
  private readonly reporter: StepReporter
  private readonly now: () => number
  private readonly open: OpenStep[] = []
  private readonly finished: StepRecord[] = []
  private readonly undos: Array<{what: string; run: () => Promise<unknown>}> = []

  constructor(options: StepRunnerOptions = {}) {
    this.reporter = options.reporter ?? SILENT
    this.now = options.now ?? (() => performance.now())
    this.signal = options.signal
  }

  /**
   * Runs `body` as a step, a child of the step under way if there is one. It is failed when `body` throws
   * (and so, when they let the error through, are its parents) or when `failedIf` says so.
   */
  async step<T>(name: string, body: () => Promise<T>, options: StepOptions<T> = {}): Promise<T> {
    if (this.signal?.aborted && !options.shielded) throw new Interrupted(`stopped before the ${name} step`)
    this.endFlat('done')
    const step = this.begin(name, false)
    try {
      const result = await body()
      this.end(step, options.failedIf?.(result) ? 'failed' : 'done')
      return result
    } catch (error) {
      this.end(step, 'failed')
      throw error
    }
  }

  /** A flat step (ctx.phase): ends the previous flat step at this level and starts `label` there. */
  phase = (label: string): void => {
    this.endFlat('done')
    this.begin(label, true)
  }

  /** Ends the flat steps still open at the top (a flat command's last phase), done or failed. */
  finish(status: StepStatus = 'done'): void {
    while (this.open.length > 0) this.end(this.open.at(-1)!, status)
  }

  /** What to do to take back what the step under way made; undone newest first by undo(). */
  onUndo(what: string, run: () => Promise<unknown>): void {
    this.undos.push({what, run})
  }

  /** Forgets an undo whose work was taken back another way (or must never be undone). */
  forget(what: string): void {
    const index = this.undos.findIndex((undo) => undo.what === what)
    if (index >= 0) this.undos.splice(index, 1)
  }

  /**
   * Runs every registered undo, newest first (the failed or interrupted step's own first, then the earlier
   * steps'), saying each; an undo that fails is reported and the others still run.
   */
  async undo(): Promise<UndoReport> {
    const report: UndoReport = {done: [], failed: []}
    while (this.undos.length > 0) {
      const {what, run} = this.undos.pop()!
      try {
        await run()
        report.done.push(what)
        this.reporter.line(`undone: ${what}`)
      } catch (error) {
        report.failed.push(what)
        this.reporter.line(`could not undo: ${what} (${error instanceof Error ? error.message : String(error)})`)
      }
    }
    return report
  }

  /** Every finished step, children before their parent. */
  get records(): readonly StepRecord[] {
    return this.finished
  }

  /** The last finished step of that name at the top level (or at `depth`). */
  record(name: string, depth = 0): StepRecord | undefined {
    return this.finished.findLast((step) => step.name === name && step.depth === depth)
  }

  private begin(name: string, flat: boolean): OpenStep {
    const step = {name, depth: this.open.length, startedMs: this.now(), flat}
    this.open.push(step)
    this.reporter.started(name, step.depth)
    return step
  }

  private endFlat(status: StepStatus): void {
    const top = this.open.at(-1)
    if (top?.flat) this.end(top, status)
  }

  /** Ends `step` and whatever is still open inside it (flat children), those with the same status. */
  private end(step: OpenStep, status: StepStatus): void {
    const index = this.open.lastIndexOf(step)
    if (index < 0) return
    while (this.open.length > index) {
      const closing = this.open.pop()!
      const ms = Math.round(this.now() - closing.startedMs)
      this.finished.push({
        name: closing.name,
        parents: this.open.map((open) => open.name),
        depth: closing.depth,
        ms,
        status,
      })
      this.reporter.finished(closing.name, closing.depth, status, ms)
    }
  }
}

/** For an operation called without a runner: its top-level steps reported as flat phases, as before. */
export function phaseRunner(sinks: {phase: (label: string) => void; progress: (line: string) => void}): StepRunner {
  return new StepRunner({
    reporter: {
      started: (label, depth) => {
        if (depth === 0) sinks.phase(label)
      },
      finished: () => {},
      line: sinks.progress,
    },
  })
}
