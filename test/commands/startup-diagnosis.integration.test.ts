/**
 * `up` on a stack whose db cannot start (a bad setting layered in by the user's override file): the failure
 * names the db, not the app that waited for it, with the db's real reason and how soon it failed.
 */
import {expect} from 'chai'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {freePort, runCli, NO_WAL_ARCHIVE} from '../helpers/cli.js'
import {docker, removeComposeProject, uniqueName} from '../helpers/docker.js'

describe('up names the service that failed first (integration)', function () {
  this.timeout(180_000)
  const root = mkdtempSync(path.join(tmpdir(), 'stackctl-diagnose-'))
  const project = uniqueName('diagnose')
  const dir = path.join(root, project)
  const cli = (...args: string[]) =>
    runCli([...args, '--dir', dir, '--project-name', project], {env: {STACKCTL_IMAGE_SOURCE: 'local'}})

  after(async () => {
    await removeComposeProject(project)
    rmSync(root, {recursive: true, force: true})
  })

  it('blames the db that exits at once on a bad setting, with its log, not the app (exit 1)', async () => {
    const rendered = await cli('render', '--port', String(await freePort()))
    expect(rendered.exitCode, rendered.stderr).to.equal(0)
    writeFileSync(path.join(dir, 'docker-compose.override.yml'), 'services:\n  db:\n    command: [-c, nonsense=1]\n')

    const started = Date.now()
    // This file's subject is not WAL archiving (on by default): its stacks run without it (NO_WAL_ARCHIVE).
    const result = await cli('up', NO_WAL_ARCHIVE, '--timeout', '120')
    const seconds = (Date.now() - started) / 1000
    expect(result.exitCode, result.stderr).to.equal(1)
    // Depending on the moment (and the machine's load), the db is in its restart loop, between two attempts, or
    // caught unhealthy: what matters is that the db is named, with its own log line, and the app is not.
    expect(result.stderr).to.match(/service 'db' (failed to start|is unhealthy|did not become healthy)/)
    expect(result.stderr).to.include('unrecognized configuration parameter "nonsense"')
    // The app is started once the db is started (depends_on: service_started) and waits for it itself: running,
    // not listening yet, and not blamed.
    expect(result.stderr).to.not.match(/service 'app'|within 120/)
    expect(result.stderr).to.include("check what docker-compose.override.yml changes for 'db'")
    expect(result.stderr).to.include(`the volume ${project}_postgres_data was not touched`)
    expect(seconds, 'up waited for its timeout instead of failing fast').to.be.below(60)
    await docker.getVolume(`${project}_postgres_data`).inspect()
  })
})
