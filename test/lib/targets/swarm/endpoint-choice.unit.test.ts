import {expect} from 'chai'

import {UsageError} from '../../../../src/lib/errors.js'
import {chooseSwarmTarget, type LocalSwarmRef} from '../../../../src/lib/targets/swarm/endpoint-choice.js'

const swarmA: LocalSwarmRef = {name: 'a', endpoint: 'unix:///state/swarms/a/docker.sock', port: 5000, nodes: []}
const swarmB: LocalSwarmRef = {name: 'b', endpoint: 'unix:///state/swarms/b/docker.sock', port: 5001, nodes: []}
const base = {defaultEndpoint: 'unix:///var/run/docker.sock'}

describe('swarm target selection', () => {
  it('takes --docker-host first, and knows it for a local swarm when it is one', () => {
    const choice = chooseSwarmTarget({
      ...base,
      dockerHostFlag: swarmB.endpoint,
      envDockerHost: 'tcp://x:2375',
      localSwarms: [swarmA, swarmB],
    })
    expect(choice.endpoint).to.equal(swarmB.endpoint)
    expect(choice.local?.name).to.equal('b')
    expect(choice.reason).to.match(/local swarm 'b' \(--docker-host\)/)
  })

  it('takes DOCKER_HOST next; a remote manager has no local nodes', () => {
    const choice = chooseSwarmTarget({...base, envDockerHost: 'tcp://manager:2375', localSwarms: [swarmA]})
    expect(choice).to.include({endpoint: 'tcp://manager:2375'})
    expect(choice.local).to.equal(undefined)
    expect(choice.reason).to.match(/DOCKER_HOST/)
  })

  it('takes the one local swarm that is up', () => {
    const choice = chooseSwarmTarget({...base, localSwarms: [swarmA]})
    expect(choice.endpoint).to.equal(swarmA.endpoint)
    expect(choice.local?.port).to.equal(5000)
  })

  it('refuses to guess between two local swarms, and says how to choose', () => {
    expect(() => chooseSwarmTarget({...base, localSwarms: [swarmA, swarmB]}))
      .to.throw(UsageError, /2 local swarms are up \(a, b\)/)
      .with.property('suggestion')
      .that.matches(/--docker-host unix:\/\/\/state\/swarms\/a/)
  })

  it('falls back to this engine (the caller then checks it is a manager)', () => {
    const choice = chooseSwarmTarget({...base, localSwarms: []})
    expect(choice.endpoint).to.equal(base.defaultEndpoint)
    expect(choice.reason).to.match(/no local swarm is up/)
  })
})
