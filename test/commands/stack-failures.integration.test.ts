/**
 * Failure modes that need a real stack: a volume from another PostgreSQL major, a service that never gets
 * healthy, Ctrl-C during up, and a failing image build. Each names the cause, exits with the documented code
 * and leaves the data volume as it was.
 */
import {expect} from 'chai'
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {freePort, runCli, spawnCli, NO_WAL_ARCHIVE} from '../helpers/cli.js'
import {Cleanup, docker, removeComposeProject, uniqueName} from '../helpers/docker.js'
import {stubPgVolume} from './volume/stub-volume.js'

describe('stack failure modes (integration)', function () {
  this.timeout(300_000)
  const root = mkdtempSync(path.join(tmpdir(), 'stackctl-stackfail-'))
  const projects: string[] = []
  const cleanup = new Cleanup()

  function stack(name: string) {
    const project = uniqueName(name)
    projects.push(project)
    const dir = path.join(root, project)
    const cli = async (...args: string[]) =>
      runCli([...args, '--dir', dir, '--project-name', project], {env: {STACKCTL_IMAGE_SOURCE: 'local'}})
    return {project, dir, cli, volume: `${project}_postgres_data`}
  }

  /** Renders the stack, then layers the user's override file over it, as a user would. */
  async function renderWithOverride(s: ReturnType<typeof stack>, overrideYaml: string) {
    const rendered = await s.cli('render', '--port', String(await freePort()))
    expect(rendered.exitCode, rendered.stderr).to.equal(0)
    writeFileSync(path.join(s.dir, 'docker-compose.override.yml'), overrideYaml)
  }

  after(async () => {
    for (const project of projects) await removeComposeProject(project)
    await cleanup.run()
    rmSync(root, {recursive: true, force: true})
  })

  async function readPgVersion(volume: string): Promise<string> {
    const container = await docker.createContainer({
      Image: 'stackctl/postgres:17',
      Entrypoint: ['cat', '/v/PG_VERSION'],
      HostConfig: {Binds: [`${volume}:/v:ro`], NetworkMode: 'none'},
    })
    try {
      await container.start()
      await container.wait()
      const logs = (await container.logs({stdout: true})) as Buffer
      return logs.subarray(8).toString().trim()
    } finally {
      await container.remove({force: true, v: true})
    }
  }

  it('refuses to start on a volume from another PostgreSQL major, naming both (exit 2)', async () => {
    const s = stack('major')
    await stubPgVolume(s.project, {PG_VERSION: '15'}, cleanup)
    // This file's subject is not WAL archiving (on by default): its stacks run without it (NO_WAL_ARCHIVE).
    const result = await s.cli('up', NO_WAL_ARCHIVE, '--port', String(await freePort()))
    expect(result.exitCode, result.stderr).to.equal(2)
    expect(result.stderr).to.match(/holds PostgreSQL 15 data, but the stack is configured for PostgreSQL 17/)
    const where = `--dir ${s.dir} --project-name ${s.project}`
    expect(result.stderr).to.include(
      `start it with stackctl up ${where} --pg-major 15, then upgrade it: stackctl db upgrade ${where} --to 17`,
    )
    expect(
      await docker.listContainers({all: true, filters: {label: [`com.docker.compose.project=${s.project}`]}}),
    ).to.have.length(0)
    expect(await readPgVersion(s.volume)).to.equal('15')

    const doctor = await s.cli('doctor', '--json', '--port', String(await freePort()))
    expect(doctor.exitCode).to.equal(1)
    const check = JSON.parse(doctor.stdout).checks.find((c: {name: string}) => c.name === 'volume')
    expect(check).to.include({status: 'fail'})
    expect(check.detail).to.include('PostgreSQL 15 data, the stack is configured for 17')
  })

  it('names the unhealthy service with its health output and logs, and leaves everything in place (exit 1)', async () => {
    const s = stack('unhealthy')
    await renderWithOverride(
      s,
      // A shell, not node: a Node start every second costs the machine about a third of a core for the whole test.
      'services:\n  app:\n    healthcheck:\n      test: [CMD, sh, -c, "echo probe says no; exit 1"]\n      interval: 1s\n      retries: 2\n      start_period: 0s\n',
    )
    // 90 s: on a busy machine the db's first initialisation alone can take 20 s.
    const result = await s.cli('up', NO_WAL_ARCHIVE, '--timeout', '90')
    expect(result.exitCode, result.stderr).to.equal(1)
    // Unhealthy with its db healthy: failed after the grace period, or still starting at the timeout.
    expect(result.stderr).to.match(
      /service 'app' (is unhealthy: its health check failed|did not become healthy: its health check had not passed) [\d.]+ s after it/,
    )
    expect(result.stderr).to.match(/up waited [\d.]+ s/)
    expect(result.stderr).to.include('last health check: probe says no')
    expect(result.stderr).to.match(/last log lines:[\s\S]*listening/)
    expect(result.stderr).to.include(`the volume ${s.volume} was not touched`)
    const containers = await docker.listContainers({
      all: true,
      filters: {label: [`com.docker.compose.project=${s.project}`]},
    })
    expect(containers.map((c) => c.Labels['com.docker.compose.service']).sort()).to.deep.equal(['app', 'db'])
    await docker.getVolume(s.volume).inspect()
  })

  /** Polls the service's container until the engine reports this health, or fails after 90 s. */
  async function healthOf(project: string, service: string, wanted: string): Promise<void> {
    const deadline = Date.now() + 90_000
    for (;;) {
      const [c] = await docker.listContainers({
        all: true,
        filters: {label: [`com.docker.compose.project=${project}`, `com.docker.compose.service=${service}`]},
      })
      const health = c ? (await docker.getContainer(c.Id).inspect()).State.Health?.Status : undefined
      if (health === wanted) return
      if (Date.now() > deadline) throw new Error(`${service} of ${project} did not become ${wanted} (is ${health})`)
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  }

  it('after docker stop of the db, up brings it back and waits for the unhealthy app to recover', async () => {
    const s = stack('dbstop')
    const port = await freePort()
    // One failed check makes the app unhealthy, and it stays so for up to 5 s after its db is back: the state
    // Compose's --wait reads as a failure when it looks at the app before its next check.
    await renderWithOverride(
      s,
      'services:\n  app:\n    healthcheck:\n      interval: 5s\n      retries: 1\n      start_period: 0s\n',
    )
    const first = await s.cli('up', NO_WAL_ARCHIVE, '--port', String(port))
    expect(first.exitCode, first.stderr).to.equal(0)
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).to.equal(200)
    const stopDb = async () => {
      const [db] = await docker.listContainers({
        filters: {label: [`com.docker.compose.project=${s.project}`, 'com.docker.compose.service=db']},
      })
      await docker.getContainer(db.Id).stop()
      await healthOf(s.project, 'app', 'unhealthy')
    }

    await stopDb()
    const again = await s.cli('up', NO_WAL_ARCHIVE, '--timeout', '120')
    expect(again.exitCode, again.stderr).to.equal(0)
    expect(again.stderr).to.match(/db healthy \([\d.]+ s\)/)
    expect(again.stderr).to.match(/app healthy \([\d.]+ s\)/)
    const body = (await (await fetch(`http://127.0.0.1:${port}/`)).json()) as {visits: number}
    expect(body.visits).to.equal(2)
  })

  it('render --stdout shows what will run: the real API image tag, with the override applied by Compose', async () => {
    const s = stack('stdout')
    await renderWithOverride(s, 'services:\n  app:\n    environment:\n      NODE_OPTIONS: --max-old-space-size=96\n')
    const printed = await s.cli('render', '--stdout')
    expect(printed.exitCode, printed.stderr).to.equal(0)
    expect(printed.stdout).to.match(/image: stackctl-app:[0-9a-f]{12}\n/)
    expect(printed.stdout).to.include('NODE_OPTIONS: --max-old-space-size=96')
    expect(printed.stderr).to.include('docker-compose.override.yml applied (docker compose config)')
    // Negative control: without the override the rendered file is printed as it is, comments and all.
    rmSync(path.join(s.dir, 'docker-compose.override.yml'))
    const plain = await s.cli('render', '--stdout')
    expect(plain.stdout).to.not.include('NODE_OPTIONS')
    expect(plain.stdout).to.match(/^# Rendered by stackctl/)
  })

  it('stops cleanly on Ctrl-C during up, and the next up works without cleanup', async () => {
    const s = stack('sigint')
    const port = await freePort()
    // --verbose shows Compose's own lines, which say when the db container has started.
    const run = spawnCli(
      ['up', NO_WAL_ARCHIVE, '--verbose', '--dir', s.dir, '--project-name', s.project, '--port', String(port)],
      {
        env: {STACKCTL_IMAGE_SOURCE: 'local'},
      },
    )
    const deadline = Date.now() + 60_000
    while (!/Container \S+-db-1\s+Started/.test(run.output.stderr) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    run.child.kill('SIGINT')
    const interrupted = await run.result
    expect(interrupted.exitCode, interrupted.stderr).to.equal(130)
    // Found never started: put back as found, with nothing of this run left on the engine.
    expect(interrupted.stderr).to.match(/interrupted: up of stack '.+' stopped; back as found/)
    const left = await docker.listContainers({all: true, filters: {label: [`com.docker.compose.project=${s.project}`]}})
    expect(left).to.have.length(0)
    expect(existsSync(path.join(s.dir, 'stackctl.lock'))).to.equal(false)

    const again = await s.cli('up', NO_WAL_ARCHIVE, '--port', String(port))
    expect(again.exitCode, again.stderr).to.equal(0)
    const response = await fetch(`http://127.0.0.1:${port}/`)
    expect(response.status).to.equal(200)
  })

  it('verify-persistence whose first start fails leaves the containers for inspection, as it says', async () => {
    const s = stack('verifyfail')
    await renderWithOverride(s, 'services:\n  db:\n    command: ["postgres", "-c", "no_such_setting=1"]\n')
    const result = await s.cli('verify-persistence', '--visits', '10', '--timeout', '30')
    expect(result.exitCode, result.stderr).to.equal(1)
    expect(result.stderr).to.match(/left for inspection/)
    const containers = await docker.listContainers({
      all: true,
      filters: {label: [`com.docker.compose.project=${s.project}`]},
    })
    expect(containers.map((c) => c.Labels['com.docker.compose.service']).sort()).to.include('db')
  })

  it('shows the failing build step and its output (exit 1)', async () => {
    const s = stack('build')
    await renderWithOverride(
      s,
      'services:\n  app:\n    build:\n      args:\n        NODE_IMAGE: stackctl/no-such-base:1\n',
    )
    const result = await s.cli('up', NO_WAL_ARCHIVE, '--build', '--timeout', '30')
    expect(result.exitCode).to.equal(1)
    expect(result.stderr).to.match(/docker compose .* up .* failed \(exit \d+\)/)
    expect(result.stderr).to.include('stackctl/no-such-base')
    expect(result.stderr).to.not.match(/\n\s+at .+:\d+:\d+/)
  })
})
