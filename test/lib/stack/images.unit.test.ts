/** Which images a stack runs: the resolution's decisions over a stub engine and a recording resolver. */
import {expect} from 'chai'

import {EnvironmentError, UsageError} from '../../../src/lib/errors.js'
import {localImages, registryImages} from '../../../src/lib/engine/images/stack-images.js'
import {resolveImages, type ImageResolver} from '../../../src/lib/stack/images.js'
import {StubEngine} from '../../support/stub-stack.js'

function resolver(engine: StubEngine, pullable: boolean) {
  const calls: string[] = []
  const value: ImageResolver = {
    engine,
    pull: async (reference) => {
      calls.push(`pull ${reference}`)
      if (pullable) engine.addImage(reference)
      return pullable
    },
    buildLocal: async () => {
      calls.push('build')
      engine.addImage('stackctl/postgres:17').addImage('stackctl/node:20')
    },
  }
  return {value, calls}
}

describe('image resolution (stub engine)', () => {
  it('auto: registry images that are present, without pulling', async () => {
    const engine = new StubEngine().addImage('postgres:17').addImage('node:24-slim')
    const r = resolver(engine, false)
    const {images, reason} = await resolveImages('auto', 17, undefined, r.value)
    expect(images).to.deep.equal(registryImages(17))
    expect(reason).to.include('present')
    expect(r.calls).to.deep.equal([])
  })

  it('auto: pulls when the registry answers, else builds local images and says why', async () => {
    const pulled = resolver(new StubEngine(), true)
    expect((await resolveImages('auto', 17, undefined, pulled.value)).reason).to.include('pulled')
    const offline = resolver(new StubEngine(), false)
    const {images, reason} = await resolveImages('auto', 17, undefined, offline.value)
    expect(images).to.deep.equal(localImages(17))
    expect(reason).to.include('registry unreachable; built from Debian packages')
    expect(offline.calls).to.deep.equal(['pull postgres:17', 'build'])
  })

  it('keeps the images a running stack was started with (remembered local), never flipping to the registry', async () => {
    const engine = new StubEngine()
      .addImage('stackctl/postgres:17')
      .addImage('stackctl/node:20')
      .addImage('postgres:17')
    const r = resolver(engine, true)
    const {images, reason} = await resolveImages('auto', 17, 'local', r.value)
    expect(images.source).to.equal('local')
    expect(reason).to.include('as on the last run')
    expect(r.calls).to.deep.equal(['build']) // the builder refreshes a stale image; a current one costs a look-up
  })

  it('looks each local image up once when the last run used them (up on a running stack)', async () => {
    const engine = new StubEngine().addImage('stackctl/postgres:17').addImage('stackctl/node:20')
    const looked: string[] = []
    const inspect = engine.images.inspect.bind(engine.images)
    engine.images.inspect = async (reference: string) => (looked.push(reference), inspect(reference))
    const {reason} = await resolveImages('auto', 17, 'local', resolver(engine, false).value)
    expect(reason).to.equal('images: local (stackctl/postgres:17, stackctl/node:20), as on the last run')
    expect(looked).to.deep.equal(['stackctl/postgres:17', 'stackctl/node:20'])
    // Control: one of them gone is looked for again, built, and said so.
    const gone = new StubEngine().addImage('stackctl/postgres:17')
    const {reason: rebuilt} = await resolveImages('auto', 17, 'local', resolver(gone, false).value)
    expect(rebuilt).to.include('built from Debian packages')
  })

  it('registry: refuses clearly when the registry is unreachable; local: only majors it can build', async () => {
    const error = await resolveImages('registry', 17, undefined, resolver(new StubEngine(), false).value).then(
      () => undefined,
      (caught: unknown) => caught,
    )
    expect(error).to.be.instanceOf(EnvironmentError)
    expect((error as EnvironmentError).suggestion).to.include('--image-source local')
    expect(() => localImages(12)).to.throw(UsageError, /local images exist only for PostgreSQL 15, 17, not 12/)
    expect(localImages(15).postgres).to.equal('stackctl/postgres:15')
  })
})
