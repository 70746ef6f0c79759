import {expect} from 'chai'

import {appRuntime, engineName, limitsIgnored, swarmUnsupported} from '../../../src/lib/engine/capabilities.js'

describe('what an engine can do, from what it says of itself', () => {
  const docker = {kind: 'docker' as const, version: '20.10.24', rootless: false, cgroupVersion: 1}
  const podman = {kind: 'podman' as const, version: '4.3.1', rootless: false, cgroupVersion: 1}
  const rootless = <T extends object>(engine: T) => ({...engine, rootless: true})

  it('names the engine it found', () => {
    expect(engineName(docker)).to.equal('Docker 20.10.24')
    expect(engineName(rootless(podman))).to.equal('Podman 4.3.1 rootless')
    expect(engineName(rootless(docker))).to.equal('Docker 20.10.24 rootless')
  })

  it('runs the API as the user on rootful engines, keep-id on rootless Podman, container root on rootless Docker', () => {
    const me = {uid: 1001, gid: 1002}
    expect(appRuntime(docker, me)).to.deep.equal({user: '1001:1002'})
    expect(appRuntime(podman, me)).to.deep.equal({user: '1001:1002'})
    expect(appRuntime(rootless(podman), me)).to.deep.equal({user: '1001:1002', usernsMode: 'keep-id'})
    expect(appRuntime(rootless(docker), me)).to.deep.equal({user: '0:0'})
  })

  it('refuses a swarm on Podman and on a rootless engine, with the reason; rootful Docker can', () => {
    expect(swarmUnsupported(docker)).to.equal(undefined)
    expect(swarmUnsupported(podman)).to.equal('Podman 4.3.1 has no Swarm mode (Swarm exists only in Docker)')
    expect(swarmUnsupported(rootless(podman))).to.match(/^Podman 4\.3\.1 rootless has no Swarm mode/)
    expect(swarmUnsupported(rootless(docker))).to.match(/^Docker 20\.10\.24 rootless cannot run a swarm: overlay/)
  })

  it('knows a rootless engine on cgroup v1 drops memory and pids limits (not on v2, not rootful)', () => {
    expect(limitsIgnored(rootless(podman))).to.equal(true)
    expect(limitsIgnored({...rootless(docker), cgroupVersion: 2})).to.equal(false)
    expect(limitsIgnored(docker)).to.equal(false)
    expect(limitsIgnored({...rootless(docker), cgroupVersion: undefined})).to.equal(false)
  })
})
