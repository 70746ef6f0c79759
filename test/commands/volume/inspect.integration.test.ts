/**
 * stackctl volume inspect against the real engine: a fresh stack's volume, the same volume after down, and
 * hand-made volumes (own unique projects) whose PG_VERSION says another major.
 */
import {expect} from 'chai'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {freePort, runCli, type CliResult, NO_WAL_ARCHIVE} from '../../helpers/cli.js'
import {Cleanup, removeComposeProject, uniqueName} from '../../helpers/docker.js'
import {stubPgVolume} from './stub-volume.js'

describe('volume inspect (integration)', function () {
  this.timeout(600_000)
  const project = uniqueName('vol-inspect')
  const volume = `${project}_postgres_data`
  const dir = mkdtempSync(path.join(tmpdir(), 'stackctl-vol-inspect-'))
  // A stack directory belongs to one project: the hand-made volumes' projects get directories of their own.
  const others = mkdtempSync(path.join(tmpdir(), 'stackctl-vol-inspect-others-'))
  const cleanup = new Cleanup()

  function cli(args: string[], options: {project?: string; env?: Record<string, string>} = {}): Promise<CliResult> {
    const stackDir = options.project ? path.join(others, options.project) : dir
    return runCli([...args, '--dir', stackDir, '--project-name', options.project ?? project], {
      env: {STACKCTL_IMAGE_SOURCE: 'local', ...options.env},
    })
  }

  async function inspectJson(other?: string) {
    const result = await cli(['volume', 'inspect', '--json'], {project: other})
    expect(result.exitCode, result.stderr).to.equal(0)
    return JSON.parse(result.stdout)
  }

  after(async () => {
    try {
      await removeComposeProject(project)
      await cleanup.run()
    } finally {
      rmSync(dir, {recursive: true, force: true})
      rmSync(others, {recursive: true, force: true})
    }
  })

  it('says there is no data volume yet, exit 1, before the first up', async () => {
    const result = await cli(['volume', 'inspect'])
    expect(result.exitCode).to.equal(1)
    expect(result.stderr).to.include('the stack has no data volume yet; run stackctl up')
    expect(result.stdout).to.equal('')
  })

  it('exits 2 with one clear line when the engine cannot be reached', async () => {
    const result = await cli(['volume', 'inspect'], {env: {DOCKER_HOST: 'unix:///nonexistent/docker.sock'}})
    expect(result.exitCode).to.equal(2)
    expect(result.stderr).to.include('cannot reach the Docker engine at unix:///nonexistent/docker.sock')
    expect(result.stderr).to.not.match(/\n\s+at /) // no stack trace
  })

  it('describes a fresh stack’s volume: name, labels, size, the db using it, PostgreSQL 17', async () => {
    // This file's subject is not WAL archiving (on by default): its stacks run without it (NO_WAL_ARCHIVE).
    const up = await cli(['up', NO_WAL_ARCHIVE, '--port', String(await freePort())])
    expect(up.exitCode, up.stderr).to.equal(0)
    const info = await inspectJson()
    expect(info).to.have.all.keys(
      'schemaVersion',
      'name',
      'driver',
      'mountpoint',
      'scope',
      'createdAt',
      'labels',
      'options',
      'sizeBytes',
      'usedBy',
      'usedByDb',
      'pgVersion',
      'configuredPgVersion',
      'compatible',
      'superseded',
    )
    expect(info.superseded).to.deep.equal([]) // no db upgrade yet
    expect(info.name).to.equal(volume)
    expect(info.driver).to.equal('local')
    expect(info.scope).to.equal('local')
    expect(info.mountpoint).to.be.a('string').and.include(volume)
    expect(Number.isNaN(Date.parse(info.createdAt))).to.equal(false)
    expect(info.labels).to.include({
      'com.docker.compose.project': project,
      'com.docker.compose.volume': 'postgres_data',
    })
    expect(info.options).to.deep.equal({})
    expect(info.sizeBytes).to.be.a('number').and.greaterThan(1_000_000) // an initialised cluster
    expect(info.usedBy).to.deep.equal([{name: `${project}-db-1`, state: 'running'}])
    expect(info.usedByDb).to.equal(true)
    expect(info.pgVersion).to.equal(17)
    expect(info.configuredPgVersion).to.equal(17)
    expect(info.compatible).to.equal(true)
  })

  it('prints the same facts for people, with a readable size', async () => {
    const result = await cli(['volume', 'inspect'])
    expect(result.exitCode, result.stderr).to.equal(0)
    expect(result.stdout).to.include(`volume      ${volume}`)
    expect(result.stdout).to.match(/size {8}\d+(\.\d+)? MiB \(\d+ bytes\)/)
    expect(result.stdout).to.include(`${project}-db-1 (running)`)
    expect(result.stdout).to.include('postgres    17 (configured 17: compatible)')
  })

  it('after down, still finds the volume, with no containers using it and the data still PostgreSQL 17', async () => {
    const down = await cli(['down'])
    expect(down.exitCode, down.stderr).to.equal(0)
    const info = await inspectJson()
    expect(info.name).to.equal(volume)
    expect(info.usedBy).to.deep.equal([])
    expect(info.usedByDb).to.equal(false)
    expect(info.pgVersion).to.equal(17)
    expect(info.compatible).to.equal(true)
    expect(info.sizeBytes).to.be.greaterThan(1_000_000)
  })

  it('reports a volume initialised by PostgreSQL 15 as incompatible', async () => {
    const other = uniqueName('vol-pg15')
    await stubPgVolume(other, {PG_VERSION: '15'}, cleanup)
    const info = await inspectJson(other)
    expect(info.name).to.equal(`${other}_postgres_data`)
    expect(info.labels).to.include({'com.docker.compose.project': other})
    expect(info.usedBy).to.deep.equal([])
    expect(info.pgVersion).to.equal(15)
    expect(info.configuredPgVersion).to.equal(17)
    expect(info.compatible).to.equal(false)
    const human = await cli(['volume', 'inspect'], {project: other})
    expect(human.exitCode, human.stderr).to.equal(0)
    expect(human.stdout).to.include('postgres    15 — INCOMPATIBLE with the configured 17')
  })

  it('finds the PostgreSQL 18 layout (18/docker/PG_VERSION) and calls it incompatible with 17', async () => {
    const other = uniqueName('vol-pg18')
    await stubPgVolume(other, {'18/docker/PG_VERSION': '18'}, cleanup)
    const info = await inspectJson(other)
    expect(info.pgVersion).to.equal(18)
    expect(info.compatible).to.equal(false)
  })

  it('calls an empty volume not initialised yet, and compatible', async () => {
    const other = uniqueName('vol-empty')
    await stubPgVolume(other, {}, cleanup)
    const info = await inspectJson(other)
    expect(info.pgVersion).to.equal(null)
    expect(info.compatible).to.equal(true)
  })
})
