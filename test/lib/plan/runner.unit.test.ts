/** The step runner: nesting, order of the display's events, undo order, the recorded times (a fake clock). */
import {expect} from 'chai'
import {ESLint} from 'eslint'
import path from 'node:path'

import {Interrupted} from '../../../src/lib/errors.js'
import {StepRunner, type StepReporter} from '../../../src/lib/plan/runner.js'
import {StepDisplay} from '../../../src/lib/cli/ui/step-display.js'
import {repoRoot} from '../../helpers/cli.js'

function runner(signal?: AbortSignal) {
  let now = 0
  const events: string[] = []
  const reporter: StepReporter = {
    started: (label, depth) => events.push(`${'  '.repeat(depth)}> ${label}`),
    finished: (label, depth, status, ms) => events.push(`${'  '.repeat(depth)}${status} ${label} ${ms}`),
    line: (text) => events.push(`| ${text}`),
  }
  const steps = new StepRunner({reporter, now: () => now, signal})
  return {steps, events, advance: (ms: number) => (now += ms)}
}

const fail = (message: string) => Promise.reject(new Error(message))

describe('step runner', () => {
  it('ends a parent after its children, and a step before its next sibling starts', async () => {
    const {steps, events, advance} = runner()
    await steps.step('outer', async () => {
      advance(10)
      await steps.step('first', async () => advance(100))
      await steps.step('second', async () => {
        await steps.step('deep', async () => advance(5))
      })
    })
    await steps.step('next', async () => advance(1))
    expect(events).to.deep.equal([
      '> outer',
      '  > first',
      '  done first 100',
      '  > second',
      '    > deep',
      '    done deep 5',
      '  done second 5',
      'done outer 115',
      '> next',
      'done next 1',
    ])
  })

  it('nests flat phases (an operation reporting ctx.phase) inside the step under way, ending with it', async () => {
    const {steps, events, advance} = runner()
    await steps.step('relaunch', async () => {
      steps.phase('render')
      advance(20)
      steps.phase('start containers')
      advance(30)
    })
    await steps.step('verify', async () => {})
    expect(events).to.deep.equal([
      '> relaunch',
      '  > render',
      '  done render 20',
      '  > start containers',
      '  done start containers 30',
      'done relaunch 50',
      '> verify',
      'done verify 0',
    ])
    // The negative control: the same phases outside any step are top-level steps, ended one by the next.
    const flat = runner()
    flat.steps.phase('render')
    flat.steps.phase('start containers')
    flat.steps.finish()
    expect(flat.events).to.deep.equal(['> render', 'done render 0', '> start containers', 'done start containers 0'])
  })

  it('marks a step that throws failed, and its parents, and the flat phase it was in', async () => {
    const {steps, events} = runner()
    const error = await steps
      .step('switch', () =>
        steps.step('up', async () => {
          steps.phase('wait until healthy')
          await fail('unhealthy')
        }),
      )
      .catch((caught: Error) => caught)
    expect((error as Error).message).to.equal('unhealthy')
    expect(events.filter((e) => !e.includes('>'))).to.deep.equal([
      '    failed wait until healthy 0',
      '  failed up 0',
      'failed switch 0',
    ])
    expect(steps.records.map((r) => `${r.status} ${r.name} [${r.parents.join('/')}]`)).to.deep.equal([
      'failed wait until healthy [switch/up]',
      'failed up [switch]',
      'failed switch []',
    ])
  })

  it('a parent that handles its child’s failure is done; failedIf fails a step that returned problems', async () => {
    const {steps, events} = runner()
    await steps.step('outer', () => steps.step('inner', () => fail('handled')).catch(() => 'fine'))
    await steps.step('teardown', async () => ({problems: ['a container survived']}), {
      failedIf: (outcome) => outcome.problems.length > 0,
    })
    await steps.step('audit', async () => ({problems: []}), {failedIf: (outcome) => outcome.problems.length > 0})
    expect(events.filter((e) => !e.includes('>'))).to.deep.equal([
      '  failed inner 0',
      'done outer 0',
      'failed teardown 0',
      'done audit 0',
    ])
  })

  it('records each step’s time from the clock, and finds a top-level step by name', async () => {
    const {steps, advance} = runner()
    await steps.step('pre-flight', async () => advance(6400))
    await steps.step('backup', async () => {
      await steps.step('dump', async () => advance(1500))
      advance(500)
    })
    expect(steps.record('pre-flight')).to.deep.include({ms: 6400, status: 'done', depth: 0})
    expect(steps.record('backup')?.ms).to.equal(2000)
    expect(steps.record('dump')).to.equal(undefined) // not a top-level step
    expect(steps.record('dump', 1)?.ms).to.equal(1500)
    expect(steps.record('copy')).to.equal(undefined)
  })

  it('on failure undoes newest first: the failed step’s own work, then the earlier steps’, saying each', async () => {
    const {steps, events} = runner()
    const undone: string[] = []
    const undo = (what: string) => steps.onUndo(what, async () => void undone.push(what))
    await steps.step('new volume', async () => undo('volume removed'))
    await steps.step('backup', async () => undo('API restarted'))
    await steps
      .step('new server', async () => {
        undo('server removed')
        steps.onUndo('network removed', () => fail('in use'))
        undo('forgotten')
        steps.forget('forgotten')
        await fail('initdb failed')
      })
      .catch(() => {})
    const report = await steps.undo()
    expect(undone).to.deep.equal(['server removed', 'API restarted', 'volume removed'])
    expect(report).to.deep.equal({
      done: ['server removed', 'API restarted', 'volume removed'],
      failed: ['network removed'],
    })
    expect(events.filter((e) => e.startsWith('|'))).to.deep.equal([
      '| could not undo: network removed (in use)',
      '| undone: server removed',
      '| undone: API restarted',
      '| undone: volume removed',
    ])
    expect(await steps.undo()).to.deep.equal({done: [], failed: []}) // each undo runs once
  })

  it('on abort: no further step starts (unless shielded); the running step’s undo runs first, then the earlier ones', async () => {
    const controller = new AbortController()
    const {steps, events} = runner(controller.signal)
    const undone: string[] = []
    await steps.step('new volume', async () => steps.onUndo('volume removed', async () => void undone.push('volume')))
    const interrupted = await steps
      .step('copy', async () => {
        steps.onUndo('server removed', async () => void undone.push('server'))
        controller.abort()
        await steps.step('verify', async () => expect.fail('a step started after the interrupt'))
      })
      .catch((error: unknown) => error)
    expect(interrupted).to.be.instanceOf(Interrupted)
    expect((interrupted as Error).message).to.include('before the verify step')
    await steps.undo()
    expect(undone).to.deep.equal(['server', 'volume'])
    expect(events).to.include('failed copy 0')
    expect(events).to.not.include('  > verify')
    let ran = false
    await steps.step('switch back', async () => void (ran = true), {shielded: true})
    expect(ran).to.equal(true)
  })

  it('drives the step display: children indented above their parent’s line, in a pipe', async () => {
    const written: string[] = []
    let now = 0
    const display = new StepDisplay({
      stream: {write: (text: string) => written.push(text), isTTY: false},
      color: false,
      quiet: false,
      verbose: false,
      now: () => now,
    })
    const steps = new StepRunner({reporter: display, now: () => now})
    await steps.step('switch', async () => {
      display.info('switching the stack')
      steps.phase('start containers')
      now += 3000
      steps.phase('wait until healthy')
      now += 2000
    })
    await steps.step('API check', () => fail('no visit')).catch(() => {})
    display.fail()
    expect(written.join('')).to.equal(
      [
        'switching the stack',
        '  ✔ start containers (3.0 s)',
        '  ✔ wait until healthy (2.0 s)',
        '✔ switch (5.0 s)',
        '✖ API check (0.0 s)',
        '',
      ].join('\n'),
    )
  })

  it('is infrastructure: lint rejects the step runner importing an operation (and accepts the errors)', async function () {
    this.timeout(30_000)
    const eslint = new ESLint({cwd: repoRoot})
    const lint = async (code: string) => {
      const [result] = await eslint.lintText(code, {filePath: path.join(repoRoot, 'src/lib/plan/runner.ts')})
      return result.messages.map((m) => m.message).join('\n')
    }
    expect(await lint("export {upStack} from '../targets/compose/up.js'\n")).to.match(/step runner is infrastructure/)
    expect(await lint("export {Interrupted} from '../errors.js'\n")).to.equal('')
  })
})
