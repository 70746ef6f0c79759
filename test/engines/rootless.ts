/**
 * Rootless engines for the core set (core-set.ts): each runs as its own unprivileged user, started by
 * scripts/rootless-engine.sh (run by .ci/run); the CLI runs as that user, as a rootless user would run it.
 * What only a rootless engine has is checked here, for both: how the API reads the password file, the swarm
 * refusals, and doctor's host checks.
 */
import {expect} from 'chai'
import {chmodSync, readFileSync, statSync} from 'node:fs'
import {parse} from 'yaml'

import {runCli} from '../helpers/cli.js'
import {engineAccess, engineKindOf} from '../helpers/engines.js'
import {refusesSwarm, type CoreSet, type EngineUnderTest} from './core-set.js'

type Kind = 'podman' | 'docker'

const TUN = '/dev/net/tun'

export function rootlessEngine(kind: Kind): EngineUnderTest {
  const access = engineAccess(kind === 'podman' ? 'podman-rootless' : 'docker-rootless')
  return {
    title: access.title,
    socket: access.socket,
    provision: access.provision,
    expectVersion: (version) => expect(engineKindOf(version.Components)).to.equal(kind),
    doctorEngine:
      kind === 'podman'
        ? /^ok +engine +Podman 4\.\d+\.\d+ rootless \(API [\d.]+\) at unix:\/\//m
        : /^ok +engine +Docker \d+\.\d+\.\d+\S* rootless \(API [\d.]+\) at unix:\/\//m,
    user: access.user,
  }
}

export function rootlessChecks(kind: Kind): (set: CoreSet) => void {
  return (set) => {
    it(
      kind === 'podman'
        ? 'the API keeps the user’s own id inside (userns_mode: keep-id), the db does not'
        : 'the API runs as the container’s root, the unprivileged user on the host',
      () => {
        const services = parse(readFileSync(`${set.dir}/docker-compose.yml`, 'utf8')).services
        if (kind === 'podman') expect(services.app).to.include({userns_mode: 'keep-id'})
        else expect(services.app).to.include({user: '0:0'}).and.not.have.property('userns_mode')
        expect(services.db).to.not.have.property('userns_mode')
      },
    )

    // One doctor run as the engine's user is the control of the two failures below (each a doctor run of its own:
    // on rootless Podman a run takes 5-30 s on a busy machine).
    it('doctor as the engine’s user: its own user, a usable tun, and the warning that cgroup v1 ignores the limits', async () => {
      const doctor = await set.ok('doctor')
      expect(doctor.stdout).to.match(
        /^warn +limits +\S+ [\d.]+\S* rootless on cgroup v1 ignores the stack's memory and pids limits/m,
      )
      expect(doctor.stdout).to.match(/^ok +user +stackctl runs as uid \d+, the rootless engine's own user$/m)
      expect(doctor.stdout).to.match(/^ok +network +\/dev\/net\/tun is usable by uid \d+/m)
      expect(doctor.stdout).to.include('all checks passed')
    })

    it('doctor fails stackctl run as another user than the engine’s (root here), naming the engine’s uid', async () => {
      const asRoot = await runCli(['doctor', '--dir', set.dir, '--project-name', set.project], {env: set.env})
      expect(asRoot.exitCode, asRoot.stdout).to.equal(1)
      expect(asRoot.stdout).to.match(
        /^FAIL +user +the rootless engine runs as uid \d+ \(it owns \S+\), stackctl as uid 0: its containers cannot read this stack's password file$/m,
      )
      expect(asRoot.stdout).to.match(
        /fix: run stackctl as the engine's user \(uid \d+\), from a directory that user owns/,
      )
    })

    // Podman's file only: it briefly takes the device away from every user, and rootless Podman is the engine that
    // opens it again (for each new network namespace); rootless Docker holds it from its start, so it is not upset.
    if (kind === 'podman') {
      it('doctor fails a /dev/net/tun the engine user cannot open, with the chmod that fixes it', async () => {
        const mode = statSync(TUN).mode & 0o777
        chmodSync(TUN, 0o600)
        let doctor
        try {
          doctor = await set.cli('doctor')
        } finally {
          chmodSync(TUN, mode)
        }
        expect(doctor.exitCode, doctor.stdout).to.equal(1)
        expect(doctor.stdout).to.match(
          /^FAIL +network +\/dev\/net\/tun cannot be opened for reading and writing by uid \d+ \(EACCES\): a rootless engine's containers get no network$/m,
        )
        expect(doctor.stdout).to.include(
          'fix: sudo chmod 0666 /dev/net/tun (the mode udev gives it; slirp4netns opens it as you)',
        )
        expect(statSync(TUN).mode & 0o777).to.equal(mode) // put back
      })
    }

    refusesSwarm(
      set,
      kind === 'podman'
        ? /Podman 4\.\d+\.\d+ rootless has no Swarm mode/
        : /Docker \S+ rootless cannot run a swarm: overlay networks/,
    )
  }
}
