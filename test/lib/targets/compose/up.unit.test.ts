/** `up`'s decisions over a stub engine and Compose: what it starts, what it refuses, what it says. */
import {expect} from 'chai'
import {existsSync, readFileSync} from 'node:fs'
import {createServer} from 'node:net'
import path from 'node:path'

import {ComposeNotFound, EnvironmentError, Interrupted, StackctlError} from '../../../../src/lib/errors.js'
import {freePort} from '../../../../src/lib/engine/net/ports.js'
import {ForeignStack} from '../../../../src/lib/stack/ownership.js'
import {upStack} from '../../../../src/lib/targets/compose/up.js'
import {stubStack, withLocalImages} from '../../../support/stub-context.js'
import {StubEngine} from '../../../support/stub-stack.js'

async function rejection(work: Promise<unknown>): Promise<unknown> {
  return work.then(
    () => 'resolved',
    (error: unknown) => error,
  )
}

describe('up (stub engine)', () => {
  it('renders a new stack, starts it through Compose once and remembers its stack id', async () => {
    const port = await freePort()
    const {ctx, compose, resolver, progress} = await stubStack({port}, {engine: withLocalImages(new StubEngine())})
    const result = await upStack(ctx, resolver)
    expect(compose.calls.map((c) => c.verb)).to.deep.equal(['up'])
    expect(compose.calls[0].options).to.deep.include({wait: false, waitTimeoutSeconds: 120})
    expect(progress).to.include.members(['db healthy (0.0 s)', 'app healthy (0.0 s)'])
    const state = JSON.parse(readFileSync(path.join(ctx.paths.dir, 'stack.json'), 'utf8'))
    expect(state.stackId).to.match(/^[0-9a-f]{16}$/)
    expect(readFileSync(ctx.paths.composeFile, 'utf8')).to.include(`io.stackctl.stack-id: ${state.stackId}`)
    expect(result).to.include({project: 'demo', url: `http://127.0.0.1:${port}`})
  })

  it('refuses a port held by another container, naming it, before rendering anything (exit 2)', async () => {
    const server = createServer()
    const port = await freePort()
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
    try {
      const engine = withLocalImages(new StubEngine()).addContainer({
        name: 'someone-else',
        service: 'web',
        project: 'other',
        ports: [{hostIp: '127.0.0.1', hostPort: port, containerPort: 80}],
      })
      const {ctx, compose, resolver} = await stubStack({port}, {engine})
      const error = await rejection(upStack(ctx, resolver))
      expect(error).to.be.instanceOf(EnvironmentError)
      expect((error as EnvironmentError).message).to.include(
        `port ${port} on 127.0.0.1 is already in use by container someone-else`,
      )
      expect(compose.calls).to.deep.equal([])
      expect(existsSync(ctx.paths.stateFile)).to.equal(false)
    } finally {
      server.close()
    }
  })

  it('refuses a project of the same name that it did not create, writing nothing and starting nothing', async () => {
    const engine = withLocalImages(new StubEngine()).addContainer({name: 'demo-db-1', service: 'db'})
    const {ctx, compose, resolver} = await stubStack({port: await freePort()}, {engine})
    const error = await rejection(upStack(ctx, resolver))
    expect(error).to.be.instanceOf(ForeignStack)
    expect((error as StackctlError).exitCode).to.equal(2)
    expect((error as StackctlError).suggestion).to.include('--adopt')
    expect(compose.calls).to.deep.equal([])
    expect(existsSync(ctx.paths.stateFile)).to.equal(false)
  })

  it('says when the API will be reachable from other machines', async () => {
    const {ctx, progress, resolver} = await stubStack(
      {port: await freePort(), host: '0.0.0.0'},
      {engine: withLocalImages(new StubEngine())},
    )
    await upStack(ctx, resolver)
    expect(progress.filter((line) => line.startsWith('warning:'))).to.have.length(1)
    expect(progress.join('\n')).to.include('reachable from other machines')
  })

  it('turns an interrupted Compose into Interrupted naming the untouched volume', async () => {
    const {ctx, compose, resolver} = await stubStack(
      {port: await freePort()},
      {engine: withLocalImages(new StubEngine())},
    )
    compose.upError = new Interrupted('docker compose up was stopped')
    const error = await rejection(upStack(ctx, resolver))
    expect(error).to.be.instanceOf(Interrupted)
    expect((error as StackctlError).message).to.include("up of stack 'demo' stopped; back as found (no containers)")
    expect((error as StackctlError).message).to.include('nothing had been started yet')
    expect((error as StackctlError).suggestion).to.include('demo_postgres_data was not touched')
  })

  it('stops at an unreachable engine with exit 2 before anything else', async () => {
    const engine = new StubEngine()
    engine.reachable = false
    const {ctx, compose, resolver} = await stubStack({}, {engine})
    const error = await rejection(upStack(ctx, resolver))
    expect((error as StackctlError).exitCode).to.equal(2)
    expect(compose.calls).to.deep.equal([])
  })

  describe("Compose's version check, run alongside the first reads", () => {
    /** Compose is missing: its check fails after `delayMs`, as a slow `docker compose version` would. */
    function missingCompose(compose: {assertV2(): Promise<string>}, delayMs: number) {
      compose.assertV2 = () =>
        new Promise((_resolve, reject) => setTimeout(() => reject(new ComposeNotFound()), delayMs))
    }

    it('a missing Compose is the error, after the reads and before anything is built, created or written', async () => {
      let built = 0
      const {ctx, compose, resolver} = await stubStack({}, {engine: new StubEngine()})
      resolver.buildLocal = async () => {
        built++
      }
      missingCompose(compose, 50)
      const error = await rejection(upStack(ctx, resolver))
      expect(error).to.be.instanceOf(ComposeNotFound)
      expect(built).to.equal(0)
      expect(compose.calls).to.deep.equal([])
      expect(existsSync(ctx.paths.stateFile)).to.equal(false)
      expect(existsSync(ctx.paths.composeFile)).to.equal(false)
    })

    it('wins over a taken port and over what the render refused, as when it was awaited first', async () => {
      const server = createServer()
      const port = await freePort()
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
      try {
        const taken = await stubStack({port}, {engine: withLocalImages(new StubEngine())})
        missingCompose(taken.compose, 50)
        expect(await rejection(upStack(taken.ctx, taken.resolver))).to.be.instanceOf(ComposeNotFound)
      } finally {
        server.close()
      }
      const foreign = withLocalImages(new StubEngine()).addContainer({name: 'demo-db-1', service: 'db'})
      const refused = await stubStack({}, {engine: foreign})
      missingCompose(refused.compose, 50)
      expect(await rejection(upStack(refused.ctx, refused.resolver))).to.be.instanceOf(ComposeNotFound)
    })

    it('negative control: with Compose there, the port and the render refuse as before', async () => {
      const foreign = withLocalImages(new StubEngine()).addContainer({name: 'demo-db-1', service: 'db'})
      const refused = await stubStack({}, {engine: foreign})
      expect(await rejection(upStack(refused.ctx, refused.resolver))).to.be.instanceOf(ForeignStack)
    })

    it('an unreachable engine still wins over a missing Compose', async () => {
      const engine = new StubEngine()
      engine.reachable = false
      const {ctx, compose, resolver} = await stubStack({}, {engine})
      missingCompose(compose, 0)
      const error = await rejection(upStack(ctx, resolver))
      expect(error).to.not.be.instanceOf(ComposeNotFound)
      expect((error as StackctlError).exitCode).to.equal(2)
    })
  })
})
