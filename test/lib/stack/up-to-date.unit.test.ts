import {expect} from 'chai'

import {isUpToDate, type ContainerState, type ExpectedService} from '../../../src/lib/stack/up-to-date.js'

const expected = new Map<string, ExpectedService>([
  ['app', {configHash: 'h-app', imageId: 'sha256:app'}],
  ['db', {configHash: 'h-db', imageId: 'sha256:db'}],
])

function running(service: string, changes: Partial<ContainerState> = {}): ContainerState {
  return {
    service,
    configHash: `h-${service}`,
    imageId: `sha256:${service}`,
    state: 'running',
    health: 'healthy',
    ...changes,
  }
}

describe('up fast path: is the running stack what Compose would create now', () => {
  it('is up to date when every service runs healthy with its current hash and image', () => {
    expect(isUpToDate(expected, [running('db'), running('app')])).to.equal(true)
  })

  it('accepts a running service without a health check', () => {
    expect(isUpToDate(expected, [running('db', {health: 'none'}), running('app')])).to.equal(true)
  })

  for (const [what, change] of [
    ['another configuration hash', {configHash: 'h-old'}],
    ['an image rebuilt under the same tag', {imageId: 'sha256:old'}],
    ['a stopped container', {state: 'exited', health: 'none'}],
    ['a health check still starting', {health: 'starting'}],
    ['an unhealthy container', {health: 'unhealthy'}],
    ['a container created by hand (no hash)', {configHash: undefined}],
  ] as Array<[string, Partial<ContainerState>]>) {
    it(`leaves it to Compose on ${what}`, () => {
      expect(isUpToDate(expected, [running('db'), running('app', change)])).to.equal(false)
    })
  }

  it('leaves it to Compose when a container is missing, extra or duplicated', () => {
    expect(isUpToDate(expected, [running('db')])).to.equal(false)
    expect(isUpToDate(expected, [running('db'), running('app'), running('old')])).to.equal(false)
    expect(isUpToDate(expected, [running('db'), running('db')])).to.equal(false)
  })

  it('leaves it to Compose when an image id is unknown or nothing is expected', () => {
    const unknownImage = new Map([...expected, ['app', {configHash: 'h-app'}]])
    expect(isUpToDate(unknownImage, [running('db'), running('app')])).to.equal(false)
    expect(isUpToDate(new Map(), [])).to.equal(false)
  })
})
