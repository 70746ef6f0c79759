/** `down --all`'s planning and its take-downs over a stub engine: which stacks, which containers, never volumes. */
import {expect} from 'chai'

import {mkdir} from 'node:fs/promises'

import {LABELS} from '../../../../src/lib/model/config/labels.js'
import {writeState} from '../../../../src/lib/model/stackdir/stack-files.js'
import {downAllStacks, findDownAllTargets, planDownAll} from '../../../../src/lib/targets/compose/down-all.js'
import {stubStack} from '../../../support/stub-context.js'
import {StubEngine} from '../../../support/stub-stack.js'

const labelled = (project: string, stackId: string, dir?: string) => ({
  [LABELS.stackId]: stackId,
  [LABELS.project]: project,
  ...(dir ? {[LABELS.dir]: dir} : {}),
})

/** web's stack id: a valid one, as its stack directory's stack.json holds it. */
const WEB_ID = '0123456789abcdef'

/** Two stackctl stacks (one stopped), a hand-made Compose project and a stackctl volume with no containers. */
function engineWithStacks(): StubEngine {
  return new StubEngine()
    .addContainer({name: 'web-db-1', service: 'db', project: 'web', labels: labelled('web', WEB_ID, '/srv/web')})
    .addContainer({name: 'web-app-1', service: 'app', project: 'web', labels: labelled('web', WEB_ID, '/srv/web')})
    .addContainer({
      name: 'shop-db-1',
      service: 'db',
      project: 'shop',
      state: 'exited',
      labels: labelled('shop', 'id-shop'),
    })
    .addContainer({
      name: 'shop-app-1',
      service: 'app',
      project: 'shop',
      state: 'exited',
      labels: labelled('shop', 'id-shop'),
    })
    .addContainer({name: 'handmade-web-1', service: 'web', project: 'handmade'})
    .addVolume('old_postgres_data', labelled('old', 'id-old'))
}

describe('down --all (stub engine)', () => {
  it('plans every stackctl stack with containers, and nothing else (no filter: the real behaviour)', async () => {
    const engine = engineWithStacks()
    const targets = await findDownAllTargets(engine)
    expect(targets.map((t) => [t.project, t.state, t.dir, t.containers.map((c) => c.name)])).to.deep.equal([
      ['shop', 'stopped', null, ['shop-db-1', 'shop-app-1']],
      ['web', 'running', '/srv/web', ['web-db-1', 'web-app-1']],
    ])
    // The negative control: the hand-made project is on the engine, and is left out only for its missing labels.
    expect((await engine.containers.list({})).map((c) => c.project)).to.include('handmade')
  })

  it('takes only the labelled containers of a project that also holds a container without labels', () => {
    const engine = engineWithStacks().addContainer({name: 'shop-extra-1', service: 'extra', project: 'shop'})
    const [shop] = planDownAll(engine.containersList).filter((t) => t.project === 'shop')
    expect(shop.containers.map((c) => c.name)).to.deep.equal(['shop-db-1', 'shop-app-1'])
  })

  it('limits the plan to a project prefix when given one (for tests on a shared engine)', () => {
    expect(planDownAll(engineWithStacks().containersList, 'we').map((t) => t.project)).to.deep.equal(['web'])
  })

  it('takes a stack without a stack directory down by its labels: app then db stopped cleanly, removed; volume kept', async () => {
    const engine = engineWithStacks().addContainer({name: 'shop-extra-1', service: 'extra', project: 'shop'})
    // A running one this time, so the clean stop shows.
    for (const c of engine.containersList) if (c.project === 'shop') c.state = 'running'
    const targets = planDownAll(engine.containersList).filter((t) => t.project === 'shop')
    const result = await downAllStacks(engine, targets, {load: () => Promise.reject(new Error('no such directory'))})
    expect(result.stacks).to.deep.equal([
      {
        project: 'shop',
        dir: null,
        state: 'running',
        via: 'labels',
        outcome: 'down',
        removed: ['shop-app-1', 'shop-db-1'],
        volume: {name: 'shop_postgres_data', visits: null},
        error: null,
      },
    ])
    expect(engine.calls.filter((c) => !c.startsWith('exec'))).to.deep.equal([
      'stop container id-shop-app-1',
      'stop container id-shop-db-1',
      'remove container id-shop-app-1',
      'remove container id-shop-db-1',
    ])
    // The unlabelled container of the same project stays, and so does the network it may be on.
    expect(engine.containersList.map((c) => c.name)).to.include('shop-extra-1')
    expect(engine.calls.some((c) => /volume|network/.test(c))).to.equal(false)
  })

  it('takes a stack whose directory vouches for it down like `stackctl down` there; one failure does not stop the rest', async () => {
    const engine = engineWithStacks()
    const web = await stubStack({project: 'web'}, {engine})
    // As loaded from the directory: the lock finds stack.json as the command read it.
    web.ctx.state = {stackId: WEB_ID, settings: {project: 'web'}}
    await mkdir(web.ctx.paths.dir, {recursive: true})
    await writeState(web.ctx.paths, web.ctx.state)
    const targets = planDownAll(engine.containersList)
    const result = await downAllStacks(engine, targets, {
      load: async (dir) => (dir === '/srv/web' ? web.ctx : Promise.reject(new Error('gone'))),
    })
    expect(result.stacks.map((s) => [s.project, s.via, s.outcome])).to.deep.equal([
      ['shop', 'labels', 'down'],
      ['web', 'stack directory', 'down'],
    ])
    expect(web.compose.calls).to.deep.equal([{verb: 'down', options: {volumes: false}}])

    // A directory whose stack.json names another stack id does not vouch: the claim would be wrong.
    const other = await stubStack({project: 'web'}, {engine: engineWithStacks()})
    other.ctx.state = {stackId: 'someone-else', settings: {project: 'web'}}
    const failing = engineWithStacks()
    failing.containers.remove = async () => {
      throw new Error('engine said no')
    }
    const mixed = await downAllStacks(failing, planDownAll(failing.containersList), {load: async () => other.ctx})
    expect(mixed.stacks.map((s) => [s.project, s.via, s.outcome, s.error])).to.deep.equal([
      ['shop', 'labels', 'failed', 'engine said no'],
      ['web', 'labels', 'failed', 'engine said no'],
    ])
    expect(other.compose.calls).to.deep.equal([])
  })

  it('touches no stack once interrupted, and says which were not touched', async () => {
    const engine = engineWithStacks()
    const controller = new AbortController()
    controller.abort()
    const error = await downAllStacks(engine, planDownAll(engine.containersList), {
      load: () => Promise.reject(new Error('gone')),
      signal: controller.signal,
    }).catch((caught: Error & {exitCode?: number}) => caught)
    expect(error).to.have.property('exitCode', 130)
    expect((error as Error).message)
      .to.include('took down no stack')
      .and.include('not touched: shop, web')
    expect(engine.calls.filter((c) => !c.startsWith('ping'))).to.deep.equal([])
  })
})
