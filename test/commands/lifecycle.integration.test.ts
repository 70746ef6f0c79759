/**
 * stop, start, restart and down --all against the real engine. One stack is shared by the stop/start/restart
 * tests (the same containers, the visit count carrying on); a second one, whose stack directory is moved away,
 * is taken down by `down --all` by its labels. Every project name starts with this file's unique prefix, and
 * `down --all` is limited to it (--project-prefix), so other people's stacks on this engine are never touched.
 */
import {expect} from 'chai'
import {existsSync, mkdtempSync, readdirSync, renameSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {stripVTControlCharacters} from 'node:util'

import {execa} from 'execa'

import {freePort, runCli, runCliInTerminal, spawnCli} from '../helpers/cli.js'
import {Cleanup, docker, removeCommentedNatRules, removeComposeProject, uniqueName} from '../helpers/docker.js'

describe('stop, start, restart and down --all (integration)', function () {
  this.timeout(600_000)
  const prefix = uniqueName('life')
  const root = mkdtempSync(path.join(tmpdir(), 'stackctl-lifecycle-'))
  const env = {STACKCTL_IMAGE_SOURCE: 'local', STACKCTL_STATE_DIR: path.join(root, 'state')}
  const a = {project: `${prefix}-a`, dir: path.join(root, 'a'), port: 0}
  const b = {project: `${prefix}-b`, dir: path.join(root, 'b'), port: 0}
  const foreign = `${prefix}-foreign`
  const cleanup = new Cleanup()

  const cli = (...args: string[]) => runCli([...args, '--dir', a.dir, '--project-name', a.project], {env})

  async function containers(project: string): Promise<Record<string, {id: string; state: string; health: string}>> {
    const list = await docker.listContainers({all: true, filters: {label: [`com.docker.compose.project=${project}`]}})
    return Object.fromEntries(
      list.map((c) => [
        c.Labels['com.docker.compose.service'],
        {id: c.Id, state: c.State, health: /\((healthy|unhealthy|health: starting)\)/.exec(c.Status)?.[1] ?? 'none'},
      ]),
    )
  }

  async function stackIdOf(s: {project: string}): Promise<string> {
    const app = await docker.getContainer((await containers(s.project)).app.id).inspect()
    return app.Config.Labels['io.stackctl.stack-id']
  }

  async function visit(): Promise<number> {
    const response = await fetch(`http://127.0.0.1:${a.port}/`)
    expect(response.status).to.equal(200)
    return ((await response.json()) as {visits: number}).visits
  }

  /** How often the db's log says PostgreSQL shut down cleanly (initdb's own server says it once too). */
  async function cleanShutdowns(): Promise<number> {
    const db = docker.getContainer((await containers(a.project)).db.id)
    const log = (await db.logs({stdout: true, stderr: true})).toString('utf8')
    return log.split('database system is shut down').length - 1
  }

  async function status() {
    const result = await cli('status', '--json')
    expect(result.exitCode, result.stderr).to.equal(0)
    return JSON.parse(result.stdout) as {
      services: Array<{name: string; state: string; health: string}>
      compose: {problems: string[]}
    }
  }

  /**
   * The same containers, running. The engine's own health check runs 30 s after a start, so its word is still
   * `starting` or already `healthy`; stackctl's (its probe) is what the callers check.
   */
  async function expectSameContainersRunning(): Promise<void> {
    const now = await containers(a.project)
    expect(now.db).to.deep.include({id: ids.db, state: 'running'})
    expect(now.app).to.deep.include({id: ids.app, state: 'running'})
    expect(['health: starting', 'healthy']).to.include(now.db.health)
    expect(['health: starting', 'healthy']).to.include(now.app.health)
  }

  async function stackCheck(): Promise<{status: string; detail: string}> {
    const result = await cli('doctor', '--json')
    const report = JSON.parse(result.stdout) as {checks: Array<{name: string; status: string; detail: string}>}
    return report.checks.find((c) => c.name === 'stack')!
  }

  function expectNoLocks(): void {
    const locks = path.join(root, 'state', 'locks')
    const held = existsSync(locks) ? readdirSync(locks).flatMap((e) => readdirSync(path.join(locks, e))) : []
    expect(held).to.deep.equal([])
    expect(existsSync(path.join(a.dir, 'stackctl.lock'))).to.equal(false)
  }

  let ids: Record<string, string>
  let count: number

  before(async () => {
    a.port = await freePort()
    b.port = await freePort()
    const ups = await Promise.all(
      [a, b].map((s) =>
        runCli(['up', '--dir', s.dir, '--project-name', s.project, '--port', String(s.port), '--quiet'], {env}),
      ),
    )
    for (const up of ups) expect(up.exitCode, up.stderr).to.equal(0)
    for (const up of ups) expect(up.stderr).to.not.include('healthy (') // --quiet: no service lines
    count = (await visit(), await visit(), await visit())
    ids = Object.fromEntries(Object.entries(await containers(a.project)).map(([s, c]) => [s, c.id]))
  })

  after(async () => {
    await removeCommentedNatRules(prefix)
    await cleanup.run()
    await removeComposeProject(a.project)
    await removeComposeProject(b.project)
    rmSync(root, {recursive: true, force: true})
  })

  it('stop keeps both containers (exited) and the volume; PostgreSQL shut down cleanly; status and doctor say stopped', async () => {
    const shutdownsBefore = await cleanShutdowns()
    const result = await cli('stop', '--json')
    expect(result.exitCode, result.stderr).to.equal(0)
    const report = JSON.parse(result.stdout)
    expect(report).to.deep.include({action: 'stop', changed: true, url: null, visits: null})
    expect(report.services.map((s: {before: string; after: string}) => [s.before, s.after])).to.deep.equal([
      ['running', 'exited'],
      ['running', 'exited'],
    ])
    const now = await containers(a.project)
    expect({db: now.db.state, app: now.app.state}).to.deep.equal({db: 'exited', app: 'exited'})
    expect({db: now.db.id, app: now.app.id}).to.deep.equal(ids)
    await docker.getVolume(`${a.project}_postgres_data`).inspect()
    // SIGINT and a clean shutdown, not the SIGKILL after a grace period (exit 137, no shutdown line).
    expect(await cleanShutdowns()).to.equal(shutdownsBefore + 1)
    expect((await docker.getContainer(now.db.id).inspect()).State.ExitCode).to.equal(0)
    expect((await status()).compose.problems).to.deep.equal([
      `the stack is stopped: run stackctl start --dir ${a.dir} --project-name ${a.project} to start it`,
    ])
    expect((await cli('status', '--check')).exitCode).to.equal(1)
    expect((await stackCheck()).status).to.equal('fail')
    const again = await cli('stop')
    expect(again.exitCode, again.stderr).to.equal(0)
    expect(again.stdout).to.include(`stack '${a.project}' was already stopped`)
    expectNoLocks()
  })

  it('start brings the same containers back healthy and the count carries on; status and doctor say running', async () => {
    const result = await cli('start', '--json')
    expect(result.exitCode, result.stderr).to.equal(0)
    expect(result.stderr).to.not.include('healthy') // --json: no service lines either
    const started = JSON.parse(result.stdout) as {services: Array<{name: string; health: string}>}
    expect(started).to.deep.include({
      action: 'start',
      visits: count,
      url: `http://127.0.0.1:${a.port}`,
    })
    expect(started.services.map((s) => `${s.name} ${s.health}`)).to.deep.equal(['db healthy', 'app healthy'])
    await expectSameContainersRunning()
    expect(await visit()).to.equal(count + 1)
    count += 1
    expect((await status()).compose.problems).to.deep.equal([])
    expect((await cli('status', '--check')).exitCode).to.equal(0)
    expect((await stackCheck()).status).to.equal('ok')
  })

  it('restart stops cleanly and starts the same containers, showing each service as it turns healthy on a terminal; the count carries on', async () => {
    const shutdownsBefore = await cleanShutdowns()
    const result = await runCliInTerminal(['restart', '--dir', a.dir, '--project-name', a.project], {env})
    expect(result.exitCode, result.output).to.equal(0)
    expect(result.output).to.include(`stack '${a.project}' restarted`).and.include(`(${count} visits)`)
    // What stays on the screen: each line as its last redraw left it, without colours.
    const screen = result.output.split('\n').map(
      (line) =>
        stripVTControlCharacters(line)
          .split('\r')
          .findLast((part) => part.trim() !== '') ?? '',
    )
    const services = screen.filter((line) => /\b(db|app) healthy\b/.test(line))
    expect(services, result.output).to.have.length(2)
    expect(services[0]).to.match(/^ {2}✔ db healthy \(\d+(\.\d)? s\)$/)
    expect(services[1]).to.match(/^ {2}✔ app healthy \(\d+(\.\d)? s\)$/)
    expect(screen.indexOf(services[1])).to.be.below(screen.findIndex((line) => line.startsWith('✔ wait until healthy')))
    await expectSameContainersRunning()
    expect((await status()).services.map((s) => `${s.name} ${s.health}`)).to.deep.equal(['db healthy', 'app healthy'])
    expect(await cleanShutdowns()).to.equal(shutdownsBefore + 1)
    expect(await visit()).to.equal(count + 1)
    count += 1
    expect((await cli('status', '--check')).exitCode).to.equal(0)
  })

  it('a port forwarded to another stack’s API: start refuses it, verify-persistence never counts that stack’s answers; without the rule both work (control)', async () => {
    // What a Podman stack left running did in CI: its forwarding rule for 127.0.0.1:PORT took the port of a
    // Docker stack started later, whose checks then counted the other stack's visits. The same rule by hand:
    // a's port to b's API (inserted first, so it wins over a's own). Removed in finally, and in after.
    const bApp = await docker.getContainer((await containers(b.project)).app.id).inspect()
    const bAddress = Object.values(bApp.NetworkSettings.Networks)[0].IPAddress
    const rule = ['-p', 'tcp', '-d', '127.0.0.1', '--dport', String(a.port), '-m', 'comment', '--comment', prefix]
    const target = ['-j', 'DNAT', '--to-destination', `${bAddress}:5000`]
    const forward = () => execa('iptables', ['-t', 'nat', '-I', 'OUTPUT', '1', ...rule, ...target])
    const unforward = () => execa('iptables', ['-t', 'nat', '-D', 'OUTPUT', ...rule, ...target])
    expect((await cli('stop')).exitCode).to.equal(0)
    await forward()
    try {
      const start = await cli('start')
      expect(start.exitCode, start.stderr).to.equal(2)
      expect(start.stderr).to.include(
        `port ${a.port} on 127.0.0.1 is already in use (it answers, though nothing on this engine publishes it`,
      )
      const now = await containers(a.project)
      expect({db: now.db.state, app: now.app.state}).to.deep.equal({db: 'exited', app: 'exited'})
    } finally {
      await unforward()
    }
    const started = await cli('start')
    expect(started.exitCode, started.stderr).to.equal(0)
    await forward()
    try {
      // Refused while preparing, before a single visit is written through the port.
      const check = await cli('verify-persistence', '--mode', 'recreate', '--visits', '20', '--json')
      expect(check.exitCode, check.stderr).to.equal(1)
      const result = JSON.parse(check.stdout) as {error: {message: string}}
      expect(result.error.message).to.equal(
        `http://127.0.0.1:${a.port}: the port is answered by the API of another stack (${await stackIdOf(b)}), not this one's (${await stackIdOf(a)}): another engine's container or a forwarding rule left behind holds it`,
      )
    } finally {
      await unforward()
    }
    expect(await visit()).to.equal(count + 1)
    count += 1
    const now = await containers(a.project)
    expect({db: now.db.id, app: now.app.id}, 'the same containers throughout').to.deep.equal(ids)
  })

  it('Ctrl-C during start stops the containers again: the stack is left stopped, exit 130', async () => {
    expect((await cli('stop')).exitCode).to.equal(0)
    const run = spawnCli(['start', '--verbose', '--dir', a.dir, '--project-name', a.project], {env})
    const deadline = Date.now() + 120_000
    while (!/Container \S+ {1,2}Start/.test(run.output.stderr)) {
      if (Date.now() > deadline) throw new Error(`start never began; stderr:\n${run.output.stderr}`)
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    run.child.kill('SIGINT')
    const result = await run.result
    expect(result.exitCode, result.stderr).to.equal(130)
    expect(result.stderr).to.match(/start of stack '\S+' stopped; back to stopped/)
    const now = await containers(a.project)
    expect({db: now.db.state, app: now.app.state}).to.deep.equal({db: 'exited', app: 'exited'})
    expect({db: now.db.id, app: now.app.id}).to.deep.equal(ids)
    expectNoLocks()
    // And still stopped a moment later: the start Compose had sent goes on in the engine after Compose exits
    // (before the fix, 12 of 12 tries on a busy machine found the db running 8 s after "back to stopped").
    await new Promise((resolve) => setTimeout(resolve, 8000))
    const later = await containers(a.project)
    expect({db: later.db.state, app: later.app.state}).to.deep.equal({db: 'exited', app: 'exited'})
  })

  it('start of a stack taken down says so and names up; down --all --volumes is refused', async () => {
    const none = await runCli(['start', '--dir', path.join(root, 'never'), '--project-name', `${prefix}-none`], {env})
    expect(none.exitCode).to.equal(1)
    expect(none.stderr)
      .to.include('has no containers')
      .and.include(`stackctl up --dir ${path.join(root, 'never')}`)
    const volumes = await runCli(['down', '--all', '--volumes', '--project-prefix', prefix], {env})
    expect(volumes.exitCode).to.equal(2)
    expect(volumes.stderr).to.include('down --all never deletes volumes')
  })

  it('down --all without --force and without a terminal refuses and changes nothing (exit 2)', async () => {
    // The same containers in the same states: health is left out, as a container just started may turn healthy
    // while the command runs (seen: db "health: starting" before, "healthy" after), which is no change made.
    const idsAndStates = async () =>
      (await Promise.all([a, b].map((s) => containers(s.project)))).map((byService) =>
        Object.fromEntries(Object.entries(byService).map(([name, c]) => [name, {id: c.id, state: c.state}])),
      )
    const before = await idsAndStates()
    const result = await runCli(['down', '--all', '--project-prefix', prefix], {env})
    expect(result.exitCode).to.equal(2)
    expect(result.stderr).to.include('refusing to take down 2 stacks without confirmation')
    expect(result.stderr).to.include(a.project).and.include(b.project)
    expect(await idsAndStates()).to.deep.equal(before)
  })

  it('down --all --force takes down only stackctl stacks (one by its labels, its directory gone), volumes kept', async () => {
    // Named like the stacks, with a Compose project label, but no io.stackctl labels: never touched.
    await docker
      .createContainer({
        name: cleanup.container(foreign),
        Image: 'stackctl/node:20',
        Cmd: ['sleep', '600'],
        Labels: {'com.docker.compose.project': foreign, 'com.docker.compose.service': 'web'},
      })
      .then((c) => c.start())
    renameSync(b.dir, `${b.dir}-moved`)
    const result = await runCli(['down', '--all', '--force', '--project-prefix', prefix, '--json'], {env})
    expect(result.exitCode, result.stderr).to.equal(0)
    const report = JSON.parse(result.stdout) as {stacks: Array<{project: string; via: string; outcome: string}>}
    expect(report.stacks.map((s) => [s.project, s.via, s.outcome])).to.deep.equal([
      [a.project, 'stack directory', 'down'],
      [b.project, 'labels', 'down'],
    ])
    expect(await containers(a.project)).to.deep.equal({})
    expect(await containers(b.project)).to.deep.equal({})
    expect((await docker.getContainer(foreign).inspect()).State.Running).to.equal(true)
    for (const s of [a, b]) await docker.getVolume(`${s.project}_postgres_data`).inspect()
    const networks = await docker.listNetworks({filters: {label: [`com.docker.compose.project=${b.project}`]}})
    expect(networks).to.deep.equal([])
  })
})
