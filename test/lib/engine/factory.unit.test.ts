import {expect} from 'chai'

import {DockerCli} from '../../../src/lib/engine/docker-cli.js'
import type {Engine} from '../../../src/lib/engine/engine.js'
import {EngineFactory} from '../../../src/lib/engine/factory.js'

/** A factory over a recorder: which environments engines were made for, and one distinct stand-in each time. */
function recording(env: NodeJS.ProcessEnv = {DOCKER_HOST: 'tcp://host:2376', DOCKER_TLS_VERIFY: '1'}) {
  const made: NodeJS.ProcessEnv[] = []
  const factory = new EngineFactory((e) => {
    made.push(e)
    return {endpoint: e.DOCKER_HOST} as unknown as Engine
  }, env)
  return {factory, made, env}
}

describe('EngineFactory', () => {
  it('makes the host engine once, from the whole environment (TLS settings included)', () => {
    const {factory, made, env} = recording()
    expect(factory.host()).to.equal(factory.host())
    expect(made).to.deep.equal([env])
  })

  it('makes one engine per endpoint, addressed by DOCKER_HOST alone', () => {
    const {factory, made} = recording()
    const node1 = factory.at('unix:///run/node1.sock')
    expect(factory.at('unix:///run/node1.sock')).to.equal(node1)
    expect(factory.at('unix:///run/node2.sock')).not.to.equal(node1)
    expect(made).to.deep.equal([{DOCKER_HOST: 'unix:///run/node1.sock'}, {DOCKER_HOST: 'unix:///run/node2.sock'}])
  })

  it('makes a separate engine for another environment (the swarm’s host, a test’s)', () => {
    const {factory, made} = recording()
    const host = factory.host()
    const other = factory.host({DOCKER_HOST: undefined})
    expect(other).not.to.equal(host)
    expect(made).to.have.length(2)
  })

  it('makes one docker CLI runner per endpoint (none: the environment’s engine), through the runner it was given', () => {
    const asked: Array<string | undefined> = []
    const factory = new EngineFactory(
      () => ({}) as Engine,
      {},
      (endpoint) => {
        asked.push(endpoint)
        return new DockerCli(endpoint)
      },
    )
    const local = factory.cli()
    expect(factory.cli()).to.equal(local)
    expect(local.endpoint).to.equal(undefined)
    const node = factory.cli('unix:///run/node1.sock')
    expect(node).not.to.equal(local)
    expect(node.endpoint).to.equal('unix:///run/node1.sock')
    expect(factory.cli('unix:///run/node1.sock')).to.equal(node)
    expect(asked).to.deep.equal([undefined, 'unix:///run/node1.sock'])
  })
})
