/**
 * Data safety against the real engine: Ctrl-C / SIGTERM during `up` of a stopped stack puts the engine back
 * exactly as found; `up --adopt` of an empty volume initialises it, and a refused one writes nothing; doctor
 * never reads the secret through a link and warns about an override that bind-mounts `/`. One stack for the
 * file (plus a small second one for adopting); after each step the visits and their ids are checked.
 */
import {expect} from 'chai'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {freePort, runCli, spawnCli, NO_WAL_ARCHIVE} from '../helpers/cli.js'
import {Cleanup, docker, psqlIn, removeComposeProject, uniqueName} from '../helpers/docker.js'

describe('stack safety (integration)', function () {
  this.timeout(600_000)
  const root = mkdtempSync(path.join(tmpdir(), 'stackctl-safety-'))
  const stateDir = path.join(root, 'state')
  const project = uniqueName('safe')
  const dir = path.join(root, 'stack')
  const volume = `${project}_postgres_data`
  const env = {STACKCTL_IMAGE_SOURCE: 'local', STACKCTL_STATE_DIR: stateDir}
  const cleanup = new Cleanup()
  const others: string[] = []
  let port: number

  const cli = (args: string[], where = dir, name = project) =>
    runCli([...args, '--dir', where, '--project-name', name], {env})

  async function waitFor(output: {stderr: string}, pattern: RegExp, ms = 180_000): Promise<void> {
    const deadline = Date.now() + ms
    while (!pattern.test(output.stderr)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; stderr so far:\n${output.stderr}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  /**
   * Everything of the project on the engine: containers (id → state), networks, and the volume (its name and
   * labels; not its CreatedAt, which the local driver takes from the data directory's mtime, so any start moves it).
   * That it holds the same data is checked by the visits and their ids.
   */
  async function engineState(name = project) {
    const label = `com.docker.compose.project=${name}`
    const containers = await docker.listContainers({all: true, filters: {label: [label]}})
    const networks = await docker.listNetworks({filters: {label: [label]}})
    const info = await docker
      .getVolume(`${name}_postgres_data`)
      .inspect()
      .catch(() => undefined)
    return {
      containers: Object.fromEntries(containers.map((c) => [c.Id, c.State])),
      networks: networks.map((n) => n.Name).sort(),
      volume: info && {name: info.Name, labels: info.Labels},
    }
  }

  async function visit(at = port): Promise<number> {
    const response = await fetch(`http://127.0.0.1:${at}/`)
    expect(response.status).to.equal(200)
    return ((await response.json()) as {visits: number}).visits
  }

  async function visitsData(name = project): Promise<{count: number; ids: string}> {
    const count = Number(await psqlIn(name, 'SELECT count(*) FROM visits'))
    const ids = await psqlIn(name, "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM visits")
    return {count, ids}
  }

  /** up, then the data as it was and one more visit on top: the stack serves the same volume. */
  async function upAndCheck(before: {count: number; ids: string}): Promise<void> {
    // This file's subject is not WAL archiving (on by default): its stacks run without it (NO_WAL_ARCHIVE).
    const up = await cli(['up', NO_WAL_ARCHIVE, '--port', String(port)])
    expect(up.exitCode, up.stderr).to.equal(0)
    expect(await visitsData()).to.deep.equal(before)
    expect(await visit()).to.equal(before.count + 1)
  }

  async function doctorCheck(name: string, where = dir) {
    const doctor = await cli(['doctor', '--json'], where)
    const report = JSON.parse(doctor.stdout) as {checks: Array<{name: string; status: string; detail: string}>}
    return {exitCode: doctor.exitCode, check: report.checks.find((c) => c.name === name)!}
  }

  before(async () => {
    port = await freePort()
    const up = await cli(['up', NO_WAL_ARCHIVE, '--port', String(port)])
    expect(up.exitCode, up.stderr).to.equal(0)
    for (let i = 0; i < 3; i++) await visit()
  })

  after(async () => {
    await removeComposeProject(project)
    for (const other of others) await removeComposeProject(other)
    await cleanup.run()
    rmSync(root, {recursive: true, force: true})
  })

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} during up of a stack taken down: exit 130, no containers, no network, volume untouched`, async () => {
      const data = await visitsData()
      const down = await cli(['down'])
      expect(down.exitCode, down.stderr).to.equal(0)
      const found = await engineState()
      expect(found.containers).to.deep.equal({})
      expect(found.networks).to.deep.equal([])

      const run = spawnCli(
        ['up', NO_WAL_ARCHIVE, '--verbose', '--port', String(port), '--dir', dir, '--project-name', project],
        {env},
      )
      // SIGINT once Compose has created the network and the db; SIGTERM later, once the db has started.
      await waitFor(run.output, signal === 'SIGINT' ? /Container \S+-db-1 +Created/ : /Container \S+-db-1 +Started/)
      expect((await engineState()).networks, 'Compose had created the network').to.have.length(1)
      run.child.kill(signal)
      const result = await run.result
      expect(result.exitCode, result.stderr).to.equal(130)
      expect(await engineState()).to.deep.equal(found)
      expect(result.stderr).to.match(/up of stack '\S+' stopped; back as found \(no containers\)/)
      expect(result.stderr).to.include(`removed the network ${project}_default it had created`)
      expect(result.stderr).to.include(`the volume ${volume} was not touched`)

      const stack = await doctorCheck('stack')
      expect(stack.check).to.include({status: 'ok', detail: 'not started'})
      await upAndCheck(data)
    })
  }

  it('SIGINT during up of a stopped stack (containers kept): the same containers, stopped again; network kept', async () => {
    const data = await visitsData()
    const running = await docker.listContainers({filters: {label: [`com.docker.compose.project=${project}`]}})
    for (const c of running.filter((x) => x.Labels['com.docker.compose.service'] === 'app'))
      await docker.getContainer(c.Id).stop()
    for (const c of running.filter((x) => x.Labels['com.docker.compose.service'] === 'db'))
      await docker.getContainer(c.Id).stop()
    const found = await engineState()
    expect(Object.values(found.containers)).to.deep.equal(['exited', 'exited'])
    expect(found.networks).to.have.length(1)

    const run = spawnCli(
      ['up', NO_WAL_ARCHIVE, '--verbose', '--port', String(port), '--dir', dir, '--project-name', project],
      {env},
    )
    await waitFor(run.output, /Container \S+-db-1 +Started/)
    run.child.kill('SIGINT')
    const result = await run.result
    expect(result.exitCode, result.stderr).to.equal(130)
    expect(await engineState()).to.deep.equal(found)
    expect(result.stderr).to.match(/back as found \(stopped containers .*\): stopped .* again/)
    expect(result.stderr).to.not.include('removed')
    await upAndCheck(data)
  })

  describe('up --adopt', () => {
    const adoptProject = uniqueName('adopt')
    const adoptVolume = `${adoptProject}_postgres_data`
    const adoptDir = path.join(root, 'adopt')
    let adoptPort: number

    before(async () => {
      others.push(adoptProject)
      adoptPort = await freePort()
      await docker.createVolume({Name: cleanup.volume(adoptVolume)})
    })

    it('of an empty, never-initialised volume: initialises it and serves', async () => {
      const up = await cli(['up', NO_WAL_ARCHIVE, '--adopt', '--port', String(adoptPort)], adoptDir, adoptProject)
      expect(up.exitCode, up.stderr).to.equal(0)
      expect(up.stderr).to.not.include('would not match')
      expect(await visit(adoptPort)).to.equal(1)
      expect(await visitsData(adoptProject)).to.deep.include({count: 1})
      const down = await cli(['down'], adoptDir, adoptProject)
      expect(down.exitCode, down.stderr).to.equal(0)
    })

    it('of a volume that holds a cluster, from a new directory: refused, nothing written, volume untouched', async () => {
      const found = await engineState(adoptProject)
      const fresh = path.join(root, 'adopt-again')
      const up = await cli(['up', NO_WAL_ARCHIVE, '--adopt', '--port', String(adoptPort)], fresh, adoptProject)
      expect(up.exitCode, up.stderr).to.equal(2)
      expect(up.stderr).to.include('password file')
      expect(existsSync(fresh), 'the stack directory was not created').to.equal(false)

      // With a password file of another password in it: refused after the check, only that file remains.
      mkdirSync(path.join(fresh, 'secrets'), {recursive: true, mode: 0o700})
      writeFileSync(path.join(fresh, 'secrets', 'db_password'), 'not-the-password', {mode: 0o600})
      const wrong = await cli(['up', NO_WAL_ARCHIVE, '--adopt', '--port', String(adoptPort)], fresh, adoptProject)
      expect(wrong.exitCode, wrong.stderr).to.equal(2)
      expect(wrong.stderr).to.include('does not match')
      expect(readdirSync(fresh)).to.deep.equal(['secrets'])
      expect(readdirSync(path.join(fresh, 'secrets'))).to.deep.equal(['db_password'])
      expect(await engineState(adoptProject)).to.deep.equal(found)

      // The stack that owns the volume still comes up on its data.
      const up2 = await cli(['up', NO_WAL_ARCHIVE, '--port', String(adoptPort)], adoptDir, adoptProject)
      expect(up2.exitCode, up2.stderr).to.equal(0)
      expect(await visit(adoptPort)).to.equal(2)
    })
  })

  describe('doctor', () => {
    const secrets = path.join(dir, 'secrets')
    const moved = path.join(root, 'secrets-elsewhere')
    const override = path.join(dir, 'docker-compose.override.yml')

    afterEach(() => {
      if (existsSync(moved)) {
        rmSync(secrets, {force: true})
        renameSync(moved, secrets)
      }
      rmSync(override, {force: true})
    })

    it('reports the secret as matching through a real secrets/ (negative control)', async () => {
      const {check} = await doctorCheck('secret')
      expect(check.status).to.equal('ok')
      expect(check.detail).to.match(/^matches the database/)
    })

    it('fails a symlinked secrets/ instead of reading through it', async () => {
      const data = await visitsData()
      renameSync(secrets, moved)
      symlinkSync(moved, secrets)
      const {exitCode, check} = await doctorCheck('secret')
      expect(exitCode).to.equal(1)
      expect(check.status).to.equal('fail')
      expect(check.detail).to.equal(`${secrets} is a symbolic link`)
      expect(check.detail).to.not.include('matches')
      expect(await visitsData()).to.deep.equal(data)
    })

    it('warns about an override that bind-mounts / into a container, naming the service and the path', async () => {
      writeFileSync(override, 'services:\n  app:\n    volumes: ["/:/host:ro"]\n')
      const {check} = await doctorCheck('exposure')
      expect(check.status).to.equal('warn')
      expect(check.detail).to.include("mounts the host's / into app at /host (read-only)")
      const status = await cli(['status', '--json'])
      expect((JSON.parse(status.stdout) as {compose: {warnings: string[]}}).compose.warnings.join('\n')).to.include(
        "mounts the host's / into app",
      )
      rmSync(override)
      expect((await doctorCheck('exposure')).check.status).to.equal('ok')
      expect(await visit()).to.be.greaterThan(0)
    })
  })
})
