/** The README's exit-code table, case by case (the interrupts, 130, are in interrupts.integration.test.ts). */
import {expect} from 'chai'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {runCli} from '../helpers/cli.js'
import {uniqueName} from '../helpers/docker.js'

describe('exit codes as documented (integration)', function () {
  this.timeout(120_000)
  const root = mkdtempSync(path.join(tmpdir(), 'stackctl-exit-codes-'))
  const project = uniqueName('exit')
  const stack = ['--dir', path.join(root, 'stack'), '--project-name', project]
  const dead = {DOCKER_HOST: `unix://${path.join(root, 'dead.sock')}`}
  after(() => rmSync(root, {recursive: true, force: true}))

  const cases: Array<[string, string[], number, Record<string, string>?]> = [
    ['status of a stack that is not there', ['status', ...stack], 0],
    ['volume inspect before the first up', ['volume', 'inspect', ...stack], 1],
    ['status --check of a stack that is not running', ['status', '--check', ...stack], 1],
    ['logs of a stack never started', ['logs', ...stack], 1],
    ['a bad value', ['up', '--port', '1e3', ...stack], 2],
    ['an unknown flag', ['status', '--nope'], 2],
    ['db switchover of a Compose stack (one server, no replica)', ['db', 'switchover', '--force', ...stack], 2],
    ['the engine unreachable', ['status', ...stack], 2, dead],
    ['logs with the engine unreachable', ['logs', ...stack], 2, dead],
    ['no such command', ['stauts'], 127],
  ]
  for (const [what, args, code, env] of cases) {
    it(`${code}: ${what}`, async () => {
      const result = await runCli(args, {env})
      expect(result.exitCode, result.stderr).to.equal(code)
      if (code !== 0) expect(result.stderr).to.not.match(/\n\s+at .+:\d+:\d+/) // never a stack trace
    })
  }
})
