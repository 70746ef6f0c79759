/** `up` observes the engine once: a running, unchanged stack is listed at most twice (issue 22). */
import {expect} from 'chai'
import {readFileSync} from 'node:fs'
import {parse} from 'yaml'

import type {ContainerFilter} from '../../../src/lib/engine/engine.js'
import {freePort} from '../../../src/lib/engine/net/ports.js'
import {upStack} from '../../../src/lib/targets/compose/up.js'
import {stubStack, withLocalImages} from '../../support/stub-context.js'
import {StubEngine} from '../../support/stub-stack.js'

/** Counts the engine's container listings and pings from now on. */
function countCalls(engine: StubEngine): {listings: ContainerFilter[]; pings: number} {
  const counts = {listings: [] as ContainerFilter[], pings: 0}
  const list = engine.containers.list
  Object.assign(engine.containers, {
    list: async (filter: ContainerFilter) => {
      counts.listings.push(filter)
      return list(filter)
    },
  })
  const ping = engine.ping.bind(engine)
  engine.ping = async () => {
    counts.pings++
    return ping()
  }
  return counts
}

/** A stack started once by `up`, then made to look exactly as Compose would create it now. */
async function runningUnchangedStack() {
  const stack = await stubStack({port: await freePort()}, {engine: withLocalImages(new StubEngine())})
  await upStack(stack.ctx, stack.resolver)
  const services = (
    parse(readFileSync(stack.ctx.paths.composeFile, 'utf8')) as {
      services: Record<string, {image: string}>
    }
  ).services
  stack.compose.hashes = new Map(Object.keys(services).map((s) => [s, `hash-${s}`]))
  for (const c of stack.engine.containersList) {
    const image = services[c.service].image
    stack.engine.imagesByRef.set(image, {id: `sha256:${c.service}`, sizeBytes: 1, labels: {}})
    c.imageId = `sha256:${c.service}`
    c.labels['com.docker.compose.config-hash'] = `hash-${c.service}`
  }
  stack.compose.calls.length = 0
  return stack
}

describe('up on a running, unchanged stack (counting stub engine)', () => {
  it('asks Compose for nothing and lists the containers at most twice', async () => {
    const stack = await runningUnchangedStack()
    const counts = countCalls(stack.engine)
    await upStack(stack.ctx, stack.resolver)
    expect(stack.compose.calls.map((c) => c.verb)).to.not.include('up')
    expect(stack.progress).to.include('running, healthy and unchanged: nothing for Compose to do')
    expect(counts.listings.length, JSON.stringify(counts.listings)).to.be.at.most(2)
    expect(counts.pings).to.be.at.most(1)
  })

  it('control: a changed compose file is handed to Compose (the fast path is not taken blindly)', async () => {
    const stack = await runningUnchangedStack()
    stack.compose.hashes.set('app', 'hash-changed')
    await upStack(stack.ctx, stack.resolver)
    expect(stack.compose.calls.map((c) => c.verb)).to.include('up')
  })

  it('reports the stack as Compose left it, not as the snapshot before it saw it', async () => {
    const stack = await stubStack({port: await freePort()}, {engine: withLocalImages(new StubEngine())})
    const result = await upStack(stack.ctx, stack.resolver)
    expect(result.services).to.deep.equal([
      {name: 'db', state: 'running', health: 'healthy'},
      {name: 'app', state: 'running', health: 'healthy'},
    ])
  })
})
