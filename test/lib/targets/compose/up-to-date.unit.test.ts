import {expect} from 'chai'
import {mkdir, writeFile} from 'node:fs/promises'

import {
  composeHashesKey,
  isUpToDate,
  stackUpToDate,
  type ContainerState,
  type ExpectedService,
} from '../../../../src/lib/targets/compose/up-to-date.js'
import {stubStack} from '../../../support/stub-context.js'
import {StubEngine} from '../../../support/stub-stack.js'

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

describe('up fast path: the memo of Compose’s config hashes', () => {
  const text = 'services:\n  db:\n    image: img/db\n  app:\n    image: img/app\n'

  async function runningStack() {
    const engine = new StubEngine()
    for (const image of ['img/db', 'img/app']) engine.imagesByRef.set(image, {id: 'sha256:1', sizeBytes: 1, labels: {}})
    for (const service of ['db', 'app']) {
      engine.addContainer({
        name: `demo-${service}-1`,
        service,
        labels: {'com.docker.compose.config-hash': `h-${service}`},
      })
    }
    const stack = await stubStack({}, {engine})
    await mkdir(stack.ctx.paths.dir, {recursive: true})
    stack.compose.hashes = new Map([
      ['db', 'h-db'],
      ['app', 'h-app'],
    ])
    const asked = () => stack.compose.calls.filter((c) => c.verb === 'config-hash').length
    return {...stack, asked}
  }

  it('asks Compose once for the same file, and again when the file changes', async () => {
    const {ctx, asked} = await runningStack()
    expect(await stackUpToDate(ctx, text)).to.equal(true)
    expect(await stackUpToDate(ctx, text)).to.equal(true)
    expect(asked()).to.equal(1)
    expect(await stackUpToDate(ctx, `${text}# changed\n`)).to.equal(true)
    expect(asked()).to.equal(2)
  })

  it('asks again when the memo is corrupt, or holds another key', async () => {
    const {ctx, compose, asked} = await runningStack()
    await writeFile(ctx.paths.composeHashesFile, '{not json')
    expect(await stackUpToDate(ctx, text)).to.equal(true)
    expect(asked()).to.equal(1)
    // A memo of another file, claiming other hashes: not used, so Compose's changed answer is seen.
    await writeFile(ctx.paths.composeHashesFile, JSON.stringify({key: 'other', hashes: {db: 'h-db', app: 'h-app'}}))
    compose.hashes.set('app', 'h-app-changed')
    expect(await stackUpToDate(ctx, text)).to.equal(false)
    expect(asked()).to.equal(2)
  })

  it('keys the memo on everything the hashes depend on', () => {
    const base = {composeText: text, composeVersion: '2.26.1', project: 'demo', dir: '/s', dotEnv: undefined, env: {}}
    const key = composeHashesKey(base)
    expect(composeHashesKey({...base, env: {HOME: '/elsewhere', PATH: '/bin'}})).to.equal(key)
    for (const change of [
      {composeText: `${text}\n`},
      {composeVersion: '2.27.0'},
      {project: 'other'},
      {dir: '/t'},
      {dotEnv: 'A=1'},
      {env: {COMPOSE_PROFILES: 'x'}},
      {env: {DOCKER_HOST: 'unix:///other.sock'}},
    ]) {
      expect(composeHashesKey({...base, ...change}), JSON.stringify(change)).not.to.equal(key)
    }
  })
})
