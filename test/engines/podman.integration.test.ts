/**
 * The core end-to-end set on rootful Podman behind its Docker-compatible API (issue 24): up, visits,
 * verify-persistence in down, recreate and kill modes, volume backup and restore, down, up with the count going
 * on, status --check and doctor. scripts/podman-engine.sh (run by .ci/run) starts the service and copies the
 * base images into it; without it this file fails at once, saying so — it never skips.
 */
import {expect} from 'chai'
import Docker from 'dockerode'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {freePort, runCli} from '../helpers/cli.js'
import {uniqueName} from '../helpers/docker.js'

const SOCKET = process.env.STACKCTL_PODMAN_SOCKET ?? '/run/podman/podman.sock'
const podman = new Docker({socketPath: SOCKET})

describe('the core set on rootful Podman (integration)', function () {
  this.timeout(300_000)
  const root = mkdtempSync(path.join(tmpdir(), 'stackctl-podman-'))
  const dir = path.join(root, 'stack')
  const project = uniqueName('pod')
  const env = {
    DOCKER_HOST: `unix://${SOCKET}`,
    STACKCTL_IMAGE_SOURCE: 'local',
    STACKCTL_STATE_DIR: path.join(root, 'state'),
  }
  let port: number

  const cli = (...args: string[]) => runCli([...args, '--dir', dir, '--project-name', project], {env})
  const ok = async (...args: string[]) => {
    const result = await cli(...args)
    expect(result.exitCode, `${args.join(' ')}\n${result.stderr}\n${result.stdout}`).to.equal(0)
    return result
  }
  const visit = async (): Promise<number> => {
    const response = await fetch(`http://127.0.0.1:${port}/`)
    expect(response.status).to.equal(200)
    return ((await response.json()) as {visits: number}).visits
  }

  before(async () => {
    try {
      const version = await podman.version()
      expect(version.Components?.map((c) => c.Name)).to.include('Podman Engine')
    } catch (error) {
      throw new Error(`no Podman API on ${SOCKET}: run scripts/podman-engine.sh first (${String(error)})`)
    }
    port = await freePort()
  })

  after(async () => {
    try {
      await cli('down', '--volumes', '--force')
    } finally {
      // Whatever the CLI left (a failed down): this project's containers and volumes on Podman, and nothing else.
      const label = [`com.docker.compose.project=${project}`]
      for (const c of await podman.listContainers({all: true, filters: {label}})) {
        await podman.getContainer(c.Id).remove({force: true})
      }
      for (const v of (await podman.listVolumes({filters: {label}})).Volumes ?? [])
        await podman.getVolume(v.Name).remove()
      rmSync(root, {recursive: true, force: true})
    }
  })

  it('up starts the stack on Podman and the API counts visits; doctor names the engine', async () => {
    await ok('up', '--port', String(port))
    expect(await visit()).to.equal(1)
    expect(await visit()).to.equal(2)
    const doctor = await ok('doctor')
    expect(doctor.stdout).to.match(/^ok +engine +Podman 4\.\d+\.\d+ \(API [\d.]+\) at unix:\/\//m)
    const containers = await podman.listContainers({filters: {label: [`com.docker.compose.project=${project}`]}})
    expect(containers.map((c) => c.Labels['com.docker.compose.service']).sort()).to.deep.equal(['app', 'db'])
  })

  it('status --check passes while both services are ready (Podman runs no health checks without systemd)', async () => {
    const status = await ok('status', '--check')
    expect(status.stdout).to.match(/^db +running \(healthy\)$/m)
    expect(status.stdout).to.match(/^app +running \(healthy\)$/m)
  })

  for (const mode of ['down', 'recreate', 'kill']) {
    it(`verify-persistence --mode ${mode} passes`, async () => {
      const result = await ok('verify-persistence', '--mode', mode, '--visits', '40', '--json')
      const report = JSON.parse(result.stdout) as {passed: boolean; reasons: string[]}
      expect(report.reasons).to.deep.equal([])
      expect(report.passed).to.equal(true)
    })
  }

  it('backs up, restores the backup (the visits since are gone, as asked), and counts on', async () => {
    const file = path.join(root, 'podman.dump')
    const backup = JSON.parse((await ok('volume', 'backup', file, '--json')).stdout) as {visits: number}
    expect(backup.visits).to.be.greaterThan(2)
    await visit()
    const restored = JSON.parse((await ok('volume', 'restore', file, '--force', '--json')).stdout) as {visits: number}
    expect(restored.visits).to.equal(backup.visits)
    expect(await visit()).to.equal(backup.visits + 1)
  })

  it('down keeps the volume; up again continues the count', async () => {
    const before = await visit()
    await ok('down')
    const volumes = (await podman.listVolumes({filters: {label: [`com.docker.compose.project=${project}`]}})).Volumes
    expect((volumes ?? []).map((v) => v.Name)).to.deep.equal([`${project}_postgres_data`])
    await ok('up')
    expect(await visit()).to.equal(before + 1)
  })
})
