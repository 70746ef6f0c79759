/**
 * Ctrl-C and SIGTERM during the long commands that change a stack (down, verify-persistence in each mode):
 * each finishes or undoes its step, leaves the stack as it found it, releases its locks, says what it did and
 * exits 130. Real signals to the real CLI against the real engine.
 */
import {expect} from 'chai'
import {existsSync, mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {freePort, runCli, spawnCli} from '../helpers/cli.js'
import {docker, psqlIn, removeComposeProject, uniqueName} from '../helpers/docker.js'

describe('interrupted commands (integration)', function () {
  this.timeout(600_000)
  const root = mkdtempSync(path.join(tmpdir(), 'stackctl-interrupts-'))
  const stateDir = path.join(root, 'state')
  const project = uniqueName('intr')
  const dir = path.join(root, 'stack')
  const env = {STACKCTL_IMAGE_SOURCE: 'local', STACKCTL_STATE_DIR: stateDir}
  let port: number

  const cli = (...args: string[]) => runCli([...args, '--dir', dir, '--project-name', project], {env})
  const spawn = (...args: string[]) => spawnCli([...args, '--dir', dir, '--project-name', project], {env})

  async function waitFor(output: {stderr: string}, pattern: RegExp, ms = 120_000): Promise<void> {
    const deadline = Date.now() + ms
    while (!pattern.test(output.stderr)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; stderr so far:\n${output.stderr}`)
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }

  async function services(): Promise<Record<string, string>> {
    const containers = await docker.listContainers({
      all: true,
      filters: {label: [`com.docker.compose.project=${project}`]},
    })
    return Object.fromEntries(containers.map((c) => [c.Labels['com.docker.compose.service'], c.State]))
  }

  async function expectServing(): Promise<number> {
    const response = await fetch(`http://127.0.0.1:${port}/`)
    expect(response.status).to.equal(200)
    return ((await response.json()) as {visits: number}).visits
  }

  function expectNoLocks(): void {
    expect(existsSync(path.join(dir, 'stackctl.lock'))).to.equal(false)
    const locks = path.join(stateDir, 'locks')
    const held = existsSync(locks) ? readdirSync(locks).flatMap((engine) => readdirSync(path.join(locks, engine))) : []
    expect(held).to.deep.equal([])
  }

  before(async () => {
    port = await freePort()
    const up = await cli('up', '--port', String(port))
    expect(up.exitCode, up.stderr).to.equal(0)
  })

  after(async () => {
    await removeComposeProject(project)
    rmSync(root, {recursive: true, force: true})
  })

  for (const mode of ['down', 'recreate', 'kill'] as const) {
    for (const signal of mode === 'down' ? (['SIGINT', 'SIGTERM'] as const) : (['SIGINT'] as const)) {
      it(`verify-persistence --mode ${mode}: ${signal} during the writes leaves the stack running, says so, exits 130`, async () => {
        const before = Number(await psqlIn(project, 'SELECT count(*) FROM visits'))
        const run = spawn('verify-persistence', '--mode', mode, '--visits', '20000', '--concurrency', '8')
        await waitFor(run.output, /verify-persistence: write/)
        await new Promise((resolve) => setTimeout(resolve, 300))
        run.child.kill(signal)
        const result = await run.result
        expect(result.exitCode, result.stderr).to.equal(130)
        expect(result.stderr).to.match(
          /interrupted: verify-persistence stopped (during|before) its (write|teardown|relaunch) phase; nothing was verified/,
        )
        expect(result.stderr).to.include('was not touched')
        // Never a report that claims counts it did not verify.
        expect(result.stdout).to.not.match(/acknowledged missing|PASSED/)
        expect(await services()).to.deep.equal({app: 'running', db: 'running'})
        expect(await expectServing()).to.be.greaterThan(before)
        expectNoLocks()
      })
    }
  }

  for (const mode of ['down', 'kill'] as const) {
    it(`verify-persistence --mode ${mode}: a signal during the teardown finishes it, relaunches, and exits 130`, async () => {
      // In kill mode the db was SIGKILLed during the writes, before the teardown starts.
      const run = spawn('verify-persistence', '--mode', mode, '--visits', '400', '--concurrency', '8')
      await waitFor(run.output, /verify-persistence: teardown/)
      run.child.kill('SIGINT')
      const result = await run.result
      expect(result.exitCode, result.stderr).to.equal(130)
      expect(result.stderr).to.match(
        /stopped (during|before) its (teardown|relaunch) phase.*brought back as found \(running\)/,
      )
      expect(await services()).to.deep.equal({app: 'running', db: 'running'})
      await expectServing()
      expectNoLocks()
    })
  }

  it('down: a signal once Compose has started finishes taking the stack down, keeps the volume, exits 130', async () => {
    const run = spawn('down', '--verbose') // Compose's own lines say when it has started
    await waitFor(run.output, /Container \S+ {1,2}Stopping/)
    run.child.kill('SIGINT')
    const result = await run.result
    expect(result.exitCode, result.stderr).to.equal(130)
    expect(result.stderr).to.match(/was taken down completely first, so it is not left half-stopped; volume \S+ kept/)
    expect(await services()).to.deep.equal({})
    await docker.getVolume(`${project}_postgres_data`).inspect()
    expectNoLocks()
    const up = await cli('up', '--port', String(port))
    expect(up.exitCode, up.stderr).to.equal(0)
    await expectServing()
  })
})
