/**
 * How a long command shows its progress: one line per step with the time it took, a spinner on the step under
 * way when stderr is a terminal, plain lines otherwise. Tools' own output (Compose's progress) is kept out of
 * sight unless --verbose, but its last lines are shown when a step fails. --quiet keeps only warnings.
 * Knows nothing of stacks: operations report through the callbacks of their context, commands wire them here.
 * Nested steps come from the step runner (src/lib/steps), which calls started/finished/line: a child is
 * indented under its parent, and the parent's line follows its children's.
 */

export interface DisplayStream {
  write(text: string): unknown
  isTTY?: boolean
}

export interface DisplaySinks {
  progress: (line: string) => void
  detail: (line: string) => void
  phase: (label: string) => void
  partDone: (label: string, ms: number) => void
  waiting: (text: string | undefined) => void
}

export interface DisplayOptions {
  stream: DisplayStream
  /** Colour and a spinner need a terminal; NO_COLOR / --no-color turn colour off. */
  color: boolean
  quiet: boolean
  verbose: boolean
  /**
   * Off for --json: the result (or the error object) on stdout says everything, so stderr gets no step lines, ✔
   * nor ✖, and no tool output; warnings still reach it.
   */
  stepLines?: boolean
  now?: () => number
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']
const TAIL_LINES = 15

/** Whether colour is wanted: a terminal, and neither NO_COLOR (any value, see no-color.org) nor --no-color. */
export function wantsColor(stream: DisplayStream, env: Record<string, string | undefined>, noColorFlag: boolean) {
  return Boolean(stream.isTTY) && !noColorFlag && env.NO_COLOR === undefined && env.TERM !== 'dumb'
}

export function formatElapsed(ms: number): string {
  const seconds = Math.max(0, ms) / 1000
  return seconds < 10 ? `${seconds.toFixed(1)} s` : `${Math.round(seconds)} s`
}

export class StepDisplay {
  private step: {label: string; startedMs: number} | undefined
  /** What the step under way still waits for, after its time on a terminal's spinner line. */
  private waitingFor: string | undefined
  /** The step runner's steps under way, outermost first. */
  private readonly nested: Array<{label: string; depth: number; startedMs: number}> = []
  /** A runner step failed: a failure's report shows the tools' last lines. */
  private nestedFailed = false
  /** Stopped for a question (pause): no spinner drawn over it. */
  private paused = false
  private readonly tail: string[] = []
  private timer: ReturnType<typeof setInterval> | undefined
  private frame = 0
  private readonly now: () => number
  private readonly tty: boolean

  constructor(private readonly options: DisplayOptions) {
    this.now = options.now ?? Date.now
    this.tty = Boolean(options.stream.isTTY)
  }

  /** Ends the step under way (done) and starts the next one. */
  phase = (label: string): void => {
    this.finishStep('done')
    this.waitingFor = undefined
    this.step = {label, startedMs: this.now()}
    this.startSpinner()
  }

  private startSpinner(): void {
    if (this.tty && !this.options.quiet) {
      this.draw()
      this.timer ??= setInterval(() => this.draw(), 100)
      this.timer.unref?.()
    }
  }

  /** The step runner started a step (a child of the one under way when depth > 0). */
  started = (label: string, depth: number): void => {
    this.finishStep('done')
    this.waitingFor = undefined
    this.nested.push({label, depth, startedMs: this.now()})
    this.paused = false
    this.startSpinner()
  }

  /** The step runner ended a step, after its children: its line, indented by its depth, with the runner's time. */
  finished = (label: string, depth: number, status: 'done' | 'failed', ms: number): void => {
    const index = this.nested.findLastIndex((step) => step.label === label && step.depth === depth)
    if (index >= 0) this.nested.splice(index)
    this.waitingFor = undefined
    if (status === 'failed') this.nestedFailed = true
    this.clearLine()
    if (this.stepLines && !(this.options.quiet && status === 'done')) {
      this.options.stream.write(
        `${'  '.repeat(depth)}${this.mark(status)} ${label} ${this.dim(`(${formatElapsed(ms)})`)}\n`,
      )
    }
    if (this.nested.length > 0 && this.tty && !this.options.quiet) this.draw()
  }

  /**
   * A part of the step under way is done (a service turned healthy, `ms` after the step's wait began): its own
   * line, indented under the step as a child step's would be, and like one hidden by --quiet and --json.
   */
  partDone = (label: string, ms: number): void => {
    if (!this.stepLines || this.options.quiet) return
    const depth = this.step ? 1 : (this.nested.at(-1)?.depth ?? -1) + 1
    // Outside any step (an undo's wait after a failed step): a plain line, never read as a step of its own.
    if (depth === 0) return this.print(`${label} ${this.dim(`(${formatElapsed(ms)})`)}`)
    this.print(`${'  '.repeat(depth)}${this.mark('done')} ${label} ${this.dim(`(${formatElapsed(ms)})`)}`)
  }

  /** What the step under way still waits for (undefined: nothing more): shown on a terminal's spinner line. */
  waiting = (text: string | undefined): void => {
    this.waitingFor = text
  }

  /** A line of the step runner's own (what was undone). */
  line = (text: string): void => this.info(text)

  /** A line of stackctl's own: shown above the spinner (warnings even with --quiet). */
  info = (line: string): void => {
    if (this.options.quiet && !/(^|: )warning:/.test(line)) return
    this.print(line)
  }

  /** A line of a tool's output: shown with --verbose, otherwise kept for a failure's report. */
  detail = (line: string): void => {
    if (this.options.verbose) {
      this.info(line)
      return
    }
    this.tail.push(line)
    if (this.tail.length > TAIL_LINES) this.tail.shift()
  }

  /** The callbacks an operation reports through (a stack context's progress, detail, phase, partDone, waiting). */
  get sinks(): DisplaySinks {
    return {progress: this.info, detail: this.detail, phase: this.phase, partDone: this.partDone, waiting: this.waiting}
  }

  /** Runs the command's work: its last step done when it succeeds, failed (with the tools' tail) when not. */
  async around<T>(work: () => Promise<T>): Promise<T> {
    try {
      const result = await work()
      this.succeed()
      return result
    } catch (error) {
      this.fail()
      throw error
    }
  }

  /** Before a prompt: the step under way is done and the spinner stops, so it does not draw over the question. */
  pause(): void {
    this.finishStep('done')
    this.stopSpinner()
    // A runner's step stays under way through the question; its spinner returns with the next step.
    if (this.nested.length > 0) {
      this.clearLine()
      this.paused = true
    }
  }

  /** The command succeeded: the last step is done. */
  succeed(): void {
    this.finishStep('done')
    this.nested.length = 0
    this.stopSpinner()
  }

  /** The command failed: the step under way failed, and the tools' last lines say what they did. */
  fail(): void {
    const failed = this.step !== undefined || this.nestedFailed
    this.finishStep('failed')
    this.nested.length = 0
    this.stopSpinner()
    if (failed && this.stepLines && !this.options.verbose && this.tail.length > 0) {
      this.print(this.dim(`last output of the step:\n${this.tail.map((line) => `  ${line}`).join('\n')}`))
    }
  }

  private finishStep(outcome: 'done' | 'failed'): void {
    if (!this.step) return
    const {label, startedMs} = this.step
    this.step = undefined
    if ((this.options.quiet && outcome === 'done') || !this.stepLines) {
      this.clearLine()
      return
    }
    this.clearLine()
    this.options.stream.write(
      `${this.mark(outcome)} ${label} ${this.dim(`(${formatElapsed(this.now() - startedMs)})`)}\n`,
    )
  }

  private print(line: string): void {
    this.clearLine()
    this.options.stream.write(`${line}\n`)
    if ((this.step || this.nested.length > 0) && this.tty && !this.options.quiet && !this.paused) this.draw()
  }

  private draw(): void {
    const step = this.step ?? this.nested.at(-1)
    if (!step || this.paused) return
    this.frame = (this.frame + 1) % FRAMES.length
    const indent = '  '.repeat(this.step ? 0 : this.nested.at(-1)!.depth)
    const elapsed = formatElapsed(this.now() - step.startedMs)
    const waiting = this.waitingFor ? this.dim(` · ${this.waitingFor}`) : ''
    this.options.stream.write(
      `\r\u001b[2K${indent}${this.paint('36', FRAMES[this.frame])} ${step.label} ${this.dim(elapsed)}${waiting}`,
    )
  }

  private get stepLines(): boolean {
    return this.options.stepLines ?? true
  }

  private mark(outcome: 'done' | 'failed'): string {
    return outcome === 'done' ? this.paint('32', '✔') : this.paint('31', '✖')
  }

  private clearLine(): void {
    if (this.tty && !this.options.quiet) this.options.stream.write('\r\u001b[2K')
  }

  private stopSpinner(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }

  private paint(code: string, text: string): string {
    return this.options.color ? `\u001b[${code}m${text}\u001b[0m` : text
  }

  private dim(text: string): string {
    return this.paint('2', text)
  }
}
