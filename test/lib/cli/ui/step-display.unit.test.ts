/** The step display: what a terminal, a log file, --quiet and --verbose each get to see. */
/* eslint-disable no-control-regex -- a terminal's output is matched escape code by escape code */
import {expect} from 'chai'

import {formatElapsed, StepDisplay, wantsColor} from '../../../../src/lib/cli/ui/step-display.js'

function display(
  options: {tty?: boolean; quiet?: boolean; verbose?: boolean; color?: boolean; stepLines?: boolean} = {},
) {
  let now = 0
  const written: string[] = []
  const d = new StepDisplay({
    stream: {write: (text: string) => written.push(text), isTTY: options.tty ?? false},
    color: options.color ?? false,
    quiet: options.quiet ?? false,
    verbose: options.verbose ?? false,
    stepLines: options.stepLines,
    now: () => now,
  })
  return {d, text: () => written.join(''), advance: (ms: number) => (now += ms)}
}

describe('step display', () => {
  it('prints one plain line per finished step with its time, and stackctl’s lines, without a terminal', () => {
    const {d, text, advance} = display()
    d.phase('render and images')
    d.info('reusing image stackctl-app:abc')
    advance(1200)
    d.phase('start containers')
    d.detail(' Container demo-db-1  Started')
    advance(15_400)
    d.succeed()
    expect(text()).to.equal('reusing image stackctl-app:abc\n✔ render and images (1.2 s)\n✔ start containers (15 s)\n')
  })

  it('shows a tool’s lines with --verbose', () => {
    const {d, text} = display({verbose: true})
    d.phase('start containers')
    d.detail(' Container demo-db-1  Started')
    d.succeed()
    expect(text()).to.include(' Container demo-db-1  Started\n')
  })

  it('marks the failed step and shows the tool’s last lines, which it kept out of sight until then', () => {
    const {d, text} = display()
    d.phase('start containers')
    for (let i = 1; i <= 20; i++) d.detail(`compose line ${i}`)
    d.fail()
    expect(text()).to.match(/^✖ start containers \(0\.0 s\)\nlast output of the step:\n {2}compose line 6\n/)
    expect(text()).to.include('  compose line 20\n')
    expect(text()).to.not.include('compose line 5\n')
  })

  it('keeps only warnings with --quiet', () => {
    const {d, text} = display({quiet: true, tty: true})
    d.phase('render and images')
    d.info('reusing image stackctl-app:abc')
    d.info('warning: the API is published on 0.0.0.0')
    d.succeed()
    expect(text()).to.equal('warning: the API is published on 0.0.0.0\n')
  })

  it('prints no step line, not even a failed one, and no tool output for --json; warnings still', () => {
    const {d, text} = display({quiet: true, stepLines: false})
    d.phase('check engine, port and volume')
    d.detail('compose line')
    d.info('warning: the API is published on 0.0.0.0')
    d.fail()
    expect(text()).to.equal('warning: the API is published on 0.0.0.0\n')
    // The control: the same failure with step lines (--quiet alone) shows the ✖ and the tool's last lines.
    const quiet = display({quiet: true})
    quiet.d.phase('check engine, port and volume')
    quiet.d.detail('compose line')
    quiet.d.fail()
    expect(quiet.text()).to.match(/^✖ check engine, port and volume .*\nlast output of the step:\n {2}compose line\n$/)
  })

  it('prints no nested step line for --json either', () => {
    const {d, text} = display({quiet: true, stepLines: false})
    d.started('upgrade', 0)
    d.started('copy', 1)
    d.finished('copy', 1, 'failed', 10)
    d.finished('upgrade', 0, 'failed', 20)
    d.fail()
    expect(text()).to.equal('')
  })

  it('draws a spinner on a terminal and replaces it with the finished line', () => {
    const {d, text, advance} = display({tty: true, color: true})
    d.phase('wait until healthy')
    advance(2500)
    d.info('db healthy (2.5 s)')
    d.succeed()
    const out = text()
    expect(out).to.match(/\r\u001b\[2K\u001b\[36m[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]\u001b\[0m wait until healthy/)
    expect(out).to.include('\r\u001b[2Kdb healthy (2.5 s)\n')
    expect(out.endsWith('\r\u001b[2K\u001b[32m✔\u001b[0m wait until healthy \u001b[2m(2.5 s)\u001b[0m\n')).to.equal(
      true,
    )
  })

  it('on a terminal, draws the spinner on the innermost runner step, indented, and prints its parent after it', () => {
    const {d, text, advance} = display({tty: true})
    d.started('switch', 0)
    d.started('start containers', 1)
    advance(3000)
    d.info('db healthy')
    d.finished('start containers', 1, 'done', 3000)
    d.finished('switch', 0, 'done', 3100)
    d.succeed()
    const out = text()
    expect(out).to.match(/\r\u001b\[2K {2}[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] start containers/)
    const lines = out.split('\n').map((line) =>
      line
        .split('\r')
        .at(-1)!
        .replace(/\u001b\[2K/g, ''),
    )
    expect(lines).to.deep.equal(['db healthy', '  ✔ start containers (3.0 s)', '✔ switch (3.1 s)', ''])
  })

  it('shows the services of a wait as plain lines under their step without a terminal', () => {
    const {d, text, advance} = display()
    d.phase('start containers')
    advance(1000)
    d.phase('wait until healthy')
    d.waiting('waiting for db, app')
    advance(8100)
    d.partDone('db healthy', 8100)
    d.waiting('waiting for app')
    advance(4300)
    d.partDone('app healthy', 12_400)
    d.succeed()
    expect(text()).to.equal(
      [
        '✔ start containers (1.0 s)',
        '  ✔ db healthy (8.1 s)',
        '  ✔ app healthy (12 s)',
        '✔ wait until healthy (12 s)',
        '',
      ].join('\n'),
    )
  })

  it('indents a service under a runner step by the step’s depth', () => {
    const {d, text} = display()
    d.started('switch', 0)
    d.started('wait until healthy', 1)
    d.partDone('app healthy', 2000)
    d.finished('wait until healthy', 1, 'done', 2100)
    d.finished('switch', 0, 'done', 2200)
    expect(text()).to.equal('    ✔ app healthy (2.0 s)\n  ✔ wait until healthy (2.1 s)\n✔ switch (2.2 s)\n')
  })

  it('outside any step (an undo’s wait after a failed step) prints a plain line, not a ✔ that reads as a step', () => {
    const {d, text} = display()
    d.started('new server', 0)
    d.finished('new server', 0, 'failed', 1500)
    d.partDone('app healthy', 700)
    expect(text()).to.equal('✖ new server (1.5 s)\napp healthy (0.7 s)\n')
  })

  it('on a terminal, draws what the step waits for on its spinner line, and each service’s line above it', () => {
    const {d, text, advance} = display({tty: true})
    d.phase('wait until healthy')
    d.waiting('waiting for db, app')
    advance(500)
    d.partDone('db healthy', 500) // redraws the spinner under the new line
    const afterDb = text()
    expect(afterDb).to.match(
      /\r\u001b\[2K {2}✔ db healthy \(0\.5 s\)\n\r\u001b\[2K[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] wait until healthy 0\.5 s · waiting for db, app$/,
    )
    d.waiting('waiting for app')
    d.info('a line of stackctl’s')
    expect(text().slice(afterDb.length)).to.match(/wait until healthy 0\.5 s · waiting for app$/)
    d.waiting(undefined)
    d.info('another')
    expect(text()).to.match(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] wait until healthy 0\.5 s$/)
    d.succeed()
    // The next step's spinner line does not carry the last one's "waiting for".
    const next = display({tty: true})
    next.d.phase('wait until healthy')
    next.d.waiting('waiting for db')
    next.d.phase('check visits')
    expect(next.text()).to.match(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] check visits 0\.0 s$/)
  })

  it('shows no service line with --quiet nor with --json (nor their "waiting for" on a terminal)', () => {
    for (const options of [
      {quiet: true, tty: true},
      {quiet: true, stepLines: false},
    ]) {
      const {d, text} = display(options)
      d.phase('wait until healthy')
      d.waiting('waiting for db')
      d.partDone('db healthy', 100)
      d.succeed()
      expect(text()).to.equal('')
    }
    // The control: the same calls without --quiet show the line.
    const {d, text} = display()
    d.phase('wait until healthy')
    d.partDone('db healthy', 100)
    expect(text()).to.equal('  ✔ db healthy (0.1 s)\n')
  })

  it('before a question, stops drawing the runner step under way until the next one starts', () => {
    const {d, text} = display({tty: true})
    d.started('read the backup', 0)
    d.pause()
    const paused = text().length
    d.info('This replaces database visits')
    expect(text().slice(paused)).to.equal('\r\u001b[2KThis replaces database visits\n') // no spinner redrawn
    d.finished('read the backup', 0, 'done', 10)
    d.started('swap it in', 1)
    expect(text()).to.match(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] swap it in/)
    d.succeed()
  })

  it('after a runner step failed, a failure shows the tools’ last lines (and not after a success)', () => {
    const failed = display()
    failed.d.started('start containers', 0)
    failed.d.detail('compose said no')
    failed.d.finished('start containers', 0, 'failed', 5)
    failed.d.fail()
    expect(failed.text()).to.equal('✖ start containers (0.0 s)\nlast output of the step:\n  compose said no\n')
    const fine = display()
    fine.d.started('start containers', 0)
    fine.d.detail('compose said yes')
    fine.d.finished('start containers', 0, 'done', 5)
    fine.d.fail()
    expect(fine.text()).to.equal('✔ start containers (0.0 s)\n')
  })

  it('colours only a terminal, and never with NO_COLOR, --no-color or TERM=dumb', () => {
    const tty = {write: () => true, isTTY: true}
    expect(wantsColor(tty, {}, false)).to.equal(true)
    expect(wantsColor(tty, {NO_COLOR: ''}, false)).to.equal(false)
    expect(wantsColor(tty, {}, true)).to.equal(false)
    expect(wantsColor(tty, {TERM: 'dumb'}, false)).to.equal(false)
    expect(wantsColor({write: () => true}, {}, false)).to.equal(false)
  })

  it('formats elapsed times like the rest of stackctl', () => {
    expect(formatElapsed(0)).to.equal('0.0 s')
    expect(formatElapsed(9_949)).to.equal('9.9 s')
    expect(formatElapsed(12_600)).to.equal('13 s')
  })
})
