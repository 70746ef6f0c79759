/**
 * How a long command shows its progress: one line per step with the time it took, a spinner on the step under
 * way when stderr is a terminal, plain lines otherwise. Tools' own output (Compose's progress) is kept out of
 * sight unless --verbose, but its last lines are shown when a step fails. --quiet keeps only warnings.
 * Knows nothing of stacks: operations report through the callbacks of their context, commands wire them here.
 */

export interface DisplayStream {
  write(text: string): unknown
  isTTY?: boolean
}

export interface DisplayOptions {
  stream: DisplayStream
  /** Colour and a spinner need a terminal; NO_COLOR / --no-color turn colour off. */
  color: boolean
  quiet: boolean
  verbose: boolean
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
    this.step = {label, startedMs: this.now()}
    if (this.tty && !this.options.quiet) {
      this.draw()
      this.timer ??= setInterval(() => this.draw(), 100)
      this.timer.unref?.()
    }
  }

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

  /** The three callbacks an operation reports through (a stack context's progress, detail and phase). */
  get sinks(): {progress: (line: string) => void; detail: (line: string) => void; phase: (label: string) => void} {
    return {progress: this.info, detail: this.detail, phase: this.phase}
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
  }

  /** The command succeeded: the last step is done. */
  succeed(): void {
    this.finishStep('done')
    this.stopSpinner()
  }

  /** The command failed: the step under way failed, and the tools' last lines say what they did. */
  fail(): void {
    const failed = this.step !== undefined
    this.finishStep('failed')
    this.stopSpinner()
    if (failed && !this.options.verbose && this.tail.length > 0) {
      this.print(this.dim(`last output of the step:\n${this.tail.map((line) => `  ${line}`).join('\n')}`))
    }
  }

  private finishStep(outcome: 'done' | 'failed'): void {
    if (!this.step) return
    const {label, startedMs} = this.step
    this.step = undefined
    if (this.options.quiet && outcome === 'done') {
      this.clearLine()
      return
    }
    const mark = outcome === 'done' ? this.paint('32', '✔') : this.paint('31', '✖')
    this.clearLine()
    this.options.stream.write(`${mark} ${label} ${this.dim(`(${formatElapsed(this.now() - startedMs)})`)}\n`)
  }

  private print(line: string): void {
    this.clearLine()
    this.options.stream.write(`${line}\n`)
    if (this.step && this.tty && !this.options.quiet) this.draw()
  }

  private draw(): void {
    if (!this.step) return
    this.frame = (this.frame + 1) % FRAMES.length
    const elapsed = formatElapsed(this.now() - this.step.startedMs)
    this.options.stream.write(
      `\r\u001b[2K${this.paint('36', FRAMES[this.frame])} ${this.step.label} ${this.dim(elapsed)}`,
    )
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
