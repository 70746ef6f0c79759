import {expect} from 'chai'

import {DockerCli} from '../../../../src/lib/engine/docker-cli.js'
import {createEngine} from '../../../../src/lib/engine/dockerode-engine.js'
import {EngineUnreachable, UsageError} from '../../../../src/lib/errors.js'
import {buildAnnouncement, buildImages} from '../../../../src/lib/engine/images/builder.js'

/** An engine endpoint where nothing listens: every call to it fails at once. */
const noEngine = createEngine({DOCKER_HOST: 'unix:///nonexistent/stackctl-test.sock'})
const docker = new DockerCli('unix:///nonexistent/stackctl-test.sock')

describe('image builder (no engine)', () => {
  it('rejects bad options before it talks to the engine', async () => {
    const mirror = await buildImages({engine: noEngine, docker, mirror: 'deb.debian.org'}).catch(
      (error: unknown) => error,
    )
    expect(mirror).to.be.instanceOf(UsageError)
    const only = await buildImages({engine: noEngine, docker, only: 'redis'}).catch((error: unknown) => error)
    expect(only).to.be.instanceOf(UsageError)
  })

  it('says the engine is unreachable, with the fix, before any other check', async () => {
    const error = await buildImages({engine: noEngine, docker}).catch((caught: unknown) => caught)
    expect(error).to.be.instanceOf(EngineUnreachable)
    expect((error as EngineUnreachable).exitCode).to.equal(2)
    expect((error as EngineUnreachable).suggestion).to.match(/docker-engine\.sh/)
  })
})

describe('image builder: what it says before a build', () => {
  it('names the image, why it is built and how long that takes, before it starts', () => {
    expect(buildAnnouncement('postgres', 'stackctl/postgres:15', {action: 'full', reason: 'missing'})).to.equal(
      'postgres: stackctl/postgres:15 is missing: building it from Debian packages (about a minute on an idle machine, several minutes on a busy one)',
    )
    expect(
      buildAnnouncement('node', 'stackctl/node:20', {action: 'finish', reason: 'built from an older template'}),
    ).to.equal('node: stackctl/node:20 is built from an older template: rebuilding it on its rootfs (seconds)')
  })
})
