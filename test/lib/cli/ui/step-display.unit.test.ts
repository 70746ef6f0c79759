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
