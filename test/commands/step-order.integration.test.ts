/**
 * The step display prints nested steps in order, in a pipe and on a terminal (issue 22): each step's ✔/✖ line
 * comes after its children's (indented) lines and before the next sibling starts. `db upgrade` fails at its new
 * server (a bad initdb option) after four steps, the backup's own steps among them, and is undone, so the stack
 * stays on PostgreSQL 15 and it can run twice; `verify-persistence` relaunches the stack, whose own steps must
 * print inside its relaunch step.
 */
import {expect} from 'chai'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {freePort, runCli, runCliInTerminal, NO_WAL_ARCHIVE} from '../helpers/cli.js'
import {docker, removeComposeProject, uniqueName} from '../helpers/docker.js'

/** The lines as the eye sees them: a terminal's spinner frames (overwritten by \r) and colours removed. */
export function visibleLines(output: string): string[] {
  return (
    output
      // eslint-disable-next-line no-control-regex -- a terminal's escape codes
      .replace(/\u001b\[[0-9;]*[A-Za-z]/g, '')
      .split(/\r?\n/)
      .map((line) => line.split('\r').at(-1)!.replace(/\s+$/, ''))
      .filter((line) => line !== '')
  )
}

export interface StepLine {
  depth: number
  mark: string
  name: string
}

export function stepLines(lines: string[]): Array<StepLine | {start: string}> {
  const events: Array<StepLine | {start: string}> = []
  for (const line of lines) {
    const end = /^( *)([✔✖]) (.+) \([\d.]+ s\)$/.exec(line)
    if (end) events.push({depth: end[1].length / 2, mark: end[2], name: end[3]})
    const start = /^(?:upgrade|verify-persistence): (.+)$/.exec(line)
    if (start) events.push({start: start[1]})
  }
  return events
}

/**
 * Problems with the order of the top-level steps: after `<prefix>: X` starts X, the next top-level ✔/✖ must be
 * X's own, and every step shown after X's start and before its ✔ is indented (its child).
 */
export function orderProblems(output: string, first?: string): string[] {
  const problems: string[] = []
  let current: string | undefined = first
  for (const event of stepLines(visibleLines(output))) {
    if ('start' in event) {
      if (current !== undefined) problems.push(`${event.start} started before ${current} was shown done`)
      current = event.start
      continue
    }
    if (event.depth > 0) {
      if (current === undefined) problems.push(`child step ${event.name} printed outside any step`)
      continue
    }
    if (event.name !== current) problems.push(`top-level ${event.mark} ${event.name} while ${current} was under way`)
    current = undefined
  }
  return problems
}

/** The children printed between a step's start and its own ✔/✖ line. */
export function childrenOf(output: string, step: string): string[] {
  const events = stepLines(visibleLines(output))
  const start = events.findIndex((e) => 'start' in e && e.start === step)
  const end = events.findIndex((e, i) => i > start && !('start' in e) && e.depth === 0)
  if (start < 0 || end < 0) return []
  return events.slice(start + 1, end).flatMap((e) => ('name' in e && e.depth === 1 ? [e.name] : []))
}

describe('step display order (integration)', function () {
  // A loaded machine (the CI suite and other stacks on two cores) makes one upgrade take many minutes.
  this.timeout(1_800_000)
  const root = mkdtempSync(path.join(tmpdir(), 'stackctl-steps-'))
  const dir = path.join(root, 'stack')
  const project = uniqueName('steps')
  const env = {STACKCTL_IMAGE_SOURCE: 'local', STACKCTL_STATE_DIR: path.join(root, 'state')}
  // A generous timeout: the display's order is under test, not the speed of a loaded machine.
  const flags = ['--dir', dir, '--project-name', project, '--timeout', '900']

  it('the order checks find a step printed after a later sibling started, and a child outside its parent', () => {
    // Negative controls, the two defects of issue 22 as they printed.
    const upgradeBefore = 'upgrade: new volume\n✔ pre-flight (6.4 s)\n✔ new volume (0.1 s)\n'
    expect(orderProblems(upgradeBefore, 'pre-flight')).to.not.deep.equal([])
    const relaunchBefore =
      'verify-persistence: relaunch\n✔ relaunch (0.0 s)\n✔ start containers (3.0 s)\nverify-persistence: verify\n✔ verify (1 s)\n'
    expect(orderProblems(relaunchBefore)).to.not.deep.equal([])
    expect(childrenOf(relaunchBefore, 'relaunch')).to.deep.equal([])
    const good =
      'verify-persistence: relaunch\n\r\u001b[2K⠋ relaunch 0.1 s\r\u001b[2K  ✔ start containers (3.0 s)\n✔ relaunch (3.1 s)\n'
    expect(orderProblems(good)).to.deep.equal([])
    expect(childrenOf(good, 'relaunch')).to.deep.equal(['start containers'])
  })

  describe('with a stack on PostgreSQL 15', () => {
    before(async () => {
      const port = await freePort()
      // The steps' display is the subject, not archiving: the upgrade's steps stay those of a stack without it.
      const up = await runCli(['up', '--port', String(port), '--pg-major', '15', NO_WAL_ARCHIVE, ...flags], {env})
      expect(up.exitCode, up.stderr).to.equal(0)
    })

    after(async () => {
      try {
        await removeComposeProject(project)
        const {Volumes} = await docker.listVolumes({filters: {label: [`io.stackctl.project=${project}`]}})
        for (const volume of Volumes ?? []) await docker.getVolume(volume.Name).remove({force: true})
      } finally {
        rmSync(root, {recursive: true, force: true})
      }
    })

    const upgrade = ['db', 'upgrade', '--to', '17', '--initdb-args=--no-such-option', ...flags]

    function expectUpgradeInOrder(raw: string): void {
      const output = visibleLines(raw).join('\n') // a terminal's colours between the mark and the name
      expect(orderProblems(output, 'pre-flight'), output).to.deep.equal([])
      // The backup's own steps print inside the upgrade's backup step, before its ✔.
      expect(childrenOf(output, 'backup'), output).to.include('dump the database (pg_dump)')
      expect(output).to.match(/✖ new server \([\d.]+ s\)/)
      expect(output).to.match(/undone: the new volume \S+ removed/)
    }

    it('db upgrade in a pipe: children before their parent, no step after a later sibling started', async () => {
      const result = await runCli(upgrade, {env})
      expect(result.exitCode, result.stderr).to.equal(1)
      expectUpgradeInOrder(result.stderr)
    })

    it('db upgrade on a terminal: the same order, spinner frames aside', async () => {
      const result = await runCliInTerminal(upgrade, {env})
      expect(result.exitCode, result.output).to.equal(1)
      expect(result.output).to.match(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/) // it did draw a spinner: this is a terminal
      expectUpgradeInOrder(result.output)
    })

    const verify = ['verify-persistence', '--visits', '20', '--concurrency', '4', ...flags]

    function expectVerifyInOrder(output: string): void {
      expect(orderProblems(output), output).to.deep.equal([])
      expect(childrenOf(output, 'relaunch'), output).to.include.members(['start containers', 'wait until healthy'])
    }

    it('verify-persistence in a pipe: relaunch’s own steps print inside relaunch', async () => {
      const result = await runCli(verify, {env})
      expect(result.exitCode, result.stderr).to.equal(0)
      expectVerifyInOrder(result.stderr)
    })

    it('verify-persistence on a terminal: the same order', async () => {
      const result = await runCliInTerminal(verify, {env})
      expect(result.exitCode, result.output).to.equal(0)
      expectVerifyInOrder(result.output)
    })
  })
})
