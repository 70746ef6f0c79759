import {expect} from 'chai'
import {chownSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {engineHostChecks} from '../../../../src/lib/operations/doctor/engine-host.js'
import type {EngineDescription, ExecResult, OneShotOptions} from '../../../../src/lib/engine/engine.js'
import {StubEngine} from '../../../support/stub-stack.js'

const RLIMIT =
  'runc: runc create failed: unable to start container process: error during container init: error setting rlimits for ready process: error setting rlimit type 7: operation not permitted: OCI permission denied'

describe('doctor: the engine host beyond rootful Docker', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'stackctl-host-'))
  const tun = path.join(dir, 'tun')
  writeFileSync(tun, '')
  after(() => rmSync(dir, {recursive: true, force: true}))

  // The stub engine's own description (rootful Docker 20.10 on cgroup v1), with what a test changes.
  const facts = (fields: Partial<EngineDescription>): EngineDescription => ({
    ...new StubEngine().description,
    ...fields,
  })
  const engine = (oneShot?: (options: OneShotOptions) => Promise<ExecResult>) => {
    const stub = new StubEngine()
    if (oneShot) Object.assign(stub.containers, {runOneShot: oneShot})
    return stub
  }

  it('checks nothing more on rootful Docker', async () => {
    expect(
      await engineHostChecks(engine(), facts({}), {probeImage: 'stackctl/postgres:17', tunDevice: tun}),
    ).to.deep.equal([])
  })

  it('rootless: the network device, and the cgroup v1 warning that the limits are ignored', async () => {
    const checks = await engineHostChecks(engine(), facts({rootless: true}), {probeImage: undefined, tunDevice: tun})
    expect(checks.map((c) => `${c.name} ${c.status}`)).to.deep.equal(['network ok', 'limits warn'])
    expect(checks[1].detail).to.match(
      /^Docker 20\.10\.24 rootless on cgroup v1 ignores the stack's memory and pids limits/,
    )
    // cgroup v2 applies them: no warning.
    const v2 = await engineHostChecks(engine(), facts({rootless: true, cgroupVersion: 2}), {
      probeImage: undefined,
      tunDevice: tun,
    })
    expect(v2.map((c) => c.name)).to.deep.equal(['network'])
  })

  it('rootless: a device that cannot be opened fails with the chmod that fixes it (negative control)', async () => {
    const missing = path.join(dir, 'no-tun')
    const [network] = await engineHostChecks(engine(), facts({rootless: true}), {
      probeImage: undefined,
      tunDevice: missing,
    })
    expect(network).to.deep.include({name: 'network', status: 'fail'})
    expect(network.detail).to.include("(ENOENT): a rootless engine's containers get no network")
    expect(network.fix).to.equal(`sudo chmod 0666 ${missing} (the mode udev gives it; slirp4netns opens it as you)`)
  })

  it('rootless: stackctl run by another user than the engine’s fails, naming the engine’s uid (negative control: the same user)', async () => {
    const socket = path.join(dir, 'engine.sock')
    writeFileSync(socket, '')
    const at = (): StubEngine => Object.defineProperty(engine(), 'endpoint', {value: `unix://${socket}`})
    const me = process.getuid!()
    const [same] = await engineHostChecks(at(), facts({rootless: true}), {probeImage: undefined, tunDevice: tun})
    expect(same).to.deep.equal({
      name: 'user',
      status: 'ok',
      detail: `stackctl runs as uid ${me}, the rootless engine's own user`,
    })
    chownSync(socket, me + 4242, me + 4242)
    const [other] = await engineHostChecks(at(), facts({rootless: true}), {probeImage: undefined, tunDevice: tun})
    expect(other).to.deep.equal({
      name: 'user',
      status: 'fail',
      detail: `the rootless engine runs as uid ${me + 4242} (it owns ${socket}), stackctl as uid ${me}: its containers cannot read this stack's password file`,
      fix: `run stackctl as the engine's user (uid ${me + 4242}), from a directory that user owns`,
    })
  })

  it('Podman: a test container proves the ulimits; the rlimit failure names the containers.conf line', async () => {
    const started: string[] = []
    const good = engine(async (options) => {
      started.push(`${options.image} ${options.entrypoint.join(' ')}`)
      return {exitCode: 0, stdout: '', stderr: '', truncated: false}
    })
    const [ok] = await engineHostChecks(good, facts({kind: 'podman', version: '4.3.1'}), {
      probeImage: 'stackctl/postgres:17',
    })
    expect(ok).to.deep.equal({name: 'ulimits', status: 'ok', detail: 'a container starts with its ulimits'})
    expect(started).to.deep.equal(['stackctl/postgres:17 true'])

    const refused = engine(async () => {
      throw new Error(`(HTTP code 500) server error - ${RLIMIT}`)
    })
    const [failed] = await engineHostChecks(refused, facts({kind: 'podman', version: '4.3.1'}), {
      probeImage: 'stackctl/postgres:17',
    })
    expect(failed.status).to.equal('fail')
    expect(failed.detail).to.equal(
      "no container starts: its default ulimits exceed this host's hard limits (error setting rlimit type 7: operation not permitted)",
    )
    expect(failed.fix).to.match(
      /^add under \[containers\] in \/etc\/containers\/containers\.conf: default_ulimits = \["nofile=20000:20000", "nproc=32768:32768"\]/,
    )
    const rootless = await engineHostChecks(refused, facts({kind: 'podman', rootless: true, cgroupVersion: 2}), {
      probeImage: 'stackctl/postgres:17',
      tunDevice: tun,
    })
    expect(rootless.find((c) => c.name === 'ulimits')?.fix).to.include('~/.config/containers/containers.conf')
  })

  it('Podman: another failure or no image to start is a warning that says it did not check', async () => {
    const other = engine(async () => ({exitCode: 125, stdout: '', stderr: 'no such image\n', truncated: false}))
    const [warned] = await engineHostChecks(other, facts({kind: 'podman'}), {probeImage: 'x'})
    expect(warned).to.deep.equal({
      name: 'ulimits',
      status: 'warn',
      detail: 'not checked: a test container exited 125 (no such image)',
    })
    const [none] = await engineHostChecks(engine(), facts({kind: 'podman'}), {probeImage: undefined})
    expect(none.detail).to.equal('not checked: no stack image on the engine to start a container from')
  })
})
