/**
 * The core end-to-end set (core-set.ts) on rootful Podman behind its Docker-compatible API (issue 24), and the
 * ulimits refusal. scripts/podman-engine.sh (run by .ci/run) starts the service and copies the base images
 * into it; without it this file fails at once, saying so — it never skips.
 */
import {expect} from 'chai'
import Docker from 'dockerode'
import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {freePort, runCli} from '../helpers/cli.js'
import {uniqueName} from '../helpers/docker.js'
import {engineAccess, engineKindOf} from '../helpers/engines.js'
import {coreSet, refusesSwarm, removeProject} from './core-set.js'

const PODMAN = engineAccess('podman')

describe('the core set on rootful Podman (integration)', function () {
  this.timeout(300_000)
  coreSet(
    {
      title: PODMAN.title,
      socket: PODMAN.socket,
      provision: PODMAN.provision,
      expectVersion: (version) => expect(engineKindOf(version.Components)).to.equal('podman'),
      doctorEngine: /^ok +engine +Podman 4\.\d+\.\d+ \(API [\d.]+\) at unix:\/\//m,
      // The control of the ulimits refusal below: the service scripts/podman-engine.sh configured starts containers.
      doctorLines: [/^ok +ulimits +a container starts with its ulimits$/m],
    },
    (set) => {
      ulimitsRefusal()
      refusesSwarm(set, /: Podman 4\.\d+\.\d+ has no Swarm mode \(Swarm exists only in Docker\)$/m)
    },
  )
})

/**
 * A second Podman service on the same storage (so the images are there) whose containers.conf lacks
 * default_ulimits, as after a plain install: Podman then raises nofile to 1048576, past this host's hard limit.
 */
function ulimitsRefusal(): void {
  it('doctor and up name a Podman whose default ulimits the host refuses, with the containers.conf line', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'stackctl-ulimits-'))
    const socket = path.join(root, 'podman.sock')
    const conf = path.join(root, 'containers.conf')
    writeFileSync(conf, '[network]\nnetwork_backend = "netavark"\n')
    const service = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], {
      cwd: '/',
      env: {...process.env, CONTAINERS_CONF: conf},
      stdio: 'ignore',
    })
    const engine = new Docker({socketPath: socket})
    const dir = path.join(root, 'stack')
    const project = uniqueName('ulim')
    const env = {
      DOCKER_HOST: `unix://${socket}`,
      STACKCTL_IMAGE_SOURCE: 'local',
      STACKCTL_STATE_DIR: path.join(root, 'state'),
    }
    const cli = (...args: string[]) => runCli([...args, '--dir', dir, '--project-name', project], {env})
    try {
      for (
        let i = 0;
        i < 100 &&
        !(await engine.ping().then(
          () => true,
          () => false,
        ));
        i++
      ) {
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      const doctor = await cli('doctor')
      expect(doctor.exitCode, doctor.stdout).to.equal(1)
      expect(doctor.stdout).to.match(
        /^FAIL +ulimits +no container starts: its default ulimits exceed this host's hard limits \(error setting rlimit type 7: operation not permitted\)$/m,
      )
      expect(doctor.stdout).to.include(
        'fix: add under [containers] in /etc/containers/containers.conf: default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]',
      )
      const up = await cli('up', '--port', String(await freePort()))
      expect(up.exitCode, up.stderr).to.equal(2)
      expect(up.stderr).to.match(
        /Podman 4\.\d+\.\d+ cannot start containers: its default ulimits exceed this host's hard limits \(error setting rlimit type 7/,
      )
      expect(up.stderr).to.include('default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]')
    } finally {
      await cli('down', '--volumes', '--force')
      await removeProject(engine, project)
      service.kill('SIGTERM')
      rmSync(root, {recursive: true, force: true})
    }
  })
}
