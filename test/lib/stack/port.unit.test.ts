import {expect} from 'chai'
import {createServer, type Server} from 'node:net'

import {answersAt, freePort} from '../../../src/lib/engine/net/ports.js'
import {addressesOverlap, portUse, stackPorts, takenBy} from '../../../src/lib/stack/port.js'
import {StubEngine} from '../../support/stub-stack.js'

async function hold(port: number): Promise<Server> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return server
}

describe('portUse', () => {
  it('is free when nothing binds the port and no container publishes it', async () => {
    const port = await freePort()
    expect(await portUse(new StubEngine(), {host: '127.0.0.1', port, project: 'demo'})).to.deep.equal({state: 'free'})
  })

  // Without the userland proxy (dockerd --userland-proxy=false) a published port is a NAT rule, not a bound
  // socket: binding succeeds, only the engine knows the port is taken.
  it('is taken, naming the container, when another container publishes it though the port can be bound', async () => {
    const port = await freePort()
    const engine = new StubEngine().addContainer({
      name: 'someone-else',
      service: 'web',
      project: 'other',
      ports: [{hostIp: '127.0.0.1', hostPort: port, containerPort: 80}],
    })
    expect(await portUse(engine, {host: '127.0.0.1', port, project: 'demo'})).to.deep.equal({
      state: 'taken',
      holder: 'someone-else',
    })
  })

  it('is taken by a container publishing it on every address (0.0.0.0)', async () => {
    const port = await freePort()
    const engine = new StubEngine().addContainer({
      name: 'wide',
      service: 'web',
      project: 'other',
      ports: [{hostIp: '0.0.0.0', hostPort: port, containerPort: 80}],
    })
    expect(await portUse(engine, {host: '127.0.0.1', port, project: 'demo'})).to.include({state: 'taken'})
  })

  it('is ours for --db-port only when this stack’s db publishes it, not its app (control)', async () => {
    const port = await freePort()
    const engine = new StubEngine().addContainer({
      name: 'demo-db-1',
      service: 'db',
      project: 'demo',
      ports: [{hostIp: '127.0.0.1', hostPort: port, containerPort: 5432}],
    })
    expect(await portUse(engine, {host: '127.0.0.1', port, project: 'demo', service: 'db'})).to.deep.equal({
      state: 'ours',
    })
    expect(await portUse(engine, {host: '127.0.0.1', port, project: 'demo'})).to.deep.equal({
      state: 'taken',
      holder: 'demo-db-1',
    })
  })

  // Found by hand: `up --db-port N` with N held by a host process passed the check while the db ran on its old port.
  it('is taken when a host process holds a new --db-port while this stack’s db publishes its old one', async () => {
    const port = await freePort()
    const server = await hold(port)
    try {
      const engine = new StubEngine().addContainer({
        name: 'demo-db-1',
        service: 'db',
        project: 'demo',
        ports: [{hostIp: '127.0.0.1', hostPort: port + 1, containerPort: 5432}],
      })
      expect(await portUse(engine, {host: '127.0.0.1', port, project: 'demo', service: 'db'})).to.deep.equal({
        state: 'taken',
      })
      // Control: the same db between two restarts (publishing nothing) still holds the port as ours.
      const restarting = new StubEngine().addContainer({
        name: 'demo-db-1',
        service: 'db',
        state: 'restarting',
        configuredHostPorts: [port],
      })
      expect(await portUse(restarting, {host: '127.0.0.1', port, project: 'demo', service: 'db'})).to.deep.equal({
        state: 'ours',
      })
      // Found by hand too: a db running with no published port at all does not hold it either.
      const unpublished = new StubEngine().addContainer({name: 'demo-db-1', service: 'db', project: 'demo'})
      expect(await portUse(unpublished, {host: '127.0.0.1', port, project: 'demo', service: 'db'})).to.deep.equal({
        state: 'taken',
      })
    } finally {
      server.close()
    }
  })

  it('lists the database port up checks only when --db-port publishes it, always on 127.0.0.1', () => {
    expect(stackPorts({host: '0.0.0.0', port: 5000, dbPort: undefined}).map((p) => p.service)).to.deep.equal(['app'])
    expect(stackPorts({host: '0.0.0.0', port: 5000, dbPort: 15432})[1]).to.deep.include({
      service: 'db',
      host: '127.0.0.1',
      port: 15432,
      flag: '--db-port',
    })
  })

  it('is free when the other container publishes the same port on another address', async () => {
    const port = await freePort()
    const engine = new StubEngine().addContainer({
      name: 'elsewhere',
      service: 'web',
      project: 'other',
      ports: [{hostIp: '192.0.2.9', hostPort: port, containerPort: 80}],
    })
    expect(await portUse(engine, {host: '127.0.0.1', port, project: 'demo'})).to.deep.equal({state: 'free'})
  })

  it('is ours when this stack’s app publishes it, bound or not', async () => {
    const port = await freePort()
    const engine = new StubEngine().addContainer({
      name: 'demo-app-1',
      service: 'app',
      project: 'demo',
      ports: [{hostIp: '127.0.0.1', hostPort: port, containerPort: 5000}],
    })
    const server = await hold(port)
    try {
      expect(await portUse(engine, {host: '127.0.0.1', port, project: 'demo'})).to.deep.equal({state: 'ours'})
    } finally {
      server.close()
    }
    expect(await portUse(engine, {host: '127.0.0.1', port, project: 'demo'})).to.deep.equal({state: 'ours'})
  })

  it('is taken, without a name, when a host process binds it', async () => {
    const port = await freePort()
    const server = await hold(port)
    try {
      expect(await portUse(new StubEngine(), {host: '127.0.0.1', port, project: 'demo'})).to.deep.equal({
        state: 'taken',
      })
    } finally {
      server.close()
    }
  })

  // A crashing app left by a failed up: between restarts the engine lists no running publisher, yet holds the port.
  it('is ours while this stack’s app is restarting and the port is held; taken when the app is gone (control)', async () => {
    const port = await freePort()
    const server = await hold(port)
    try {
      const restarting = new StubEngine().addContainer({
        name: 'demo-app-1',
        service: 'app',
        state: 'restarting',
        configuredHostPorts: [port],
      })
      expect(await portUse(restarting, {host: '127.0.0.1', port, project: 'demo'})).to.deep.equal({state: 'ours'})
      const exited = new StubEngine().addContainer({name: 'demo-app-1', service: 'app', state: 'exited'})
      expect(await portUse(exited, {host: '127.0.0.1', port, project: 'demo'})).to.deep.equal({state: 'taken'})
    } finally {
      server.close()
    }
  })

  it('treats a wildcard address as overlapping every other, and distinct addresses as not', () => {
    expect(addressesOverlap('0.0.0.0', '127.0.0.1')).to.equal(true)
    expect(addressesOverlap('127.0.0.1', '')).to.equal(true)
    expect(addressesOverlap('127.0.0.1', '127.0.0.1')).to.equal(true)
    expect(addressesOverlap('127.0.0.1', '192.0.2.9')).to.equal(false)
  })
})

describe('answersAt and takenBy', () => {
  it('tells a port something answers on from a refused one (the check a forwarded port needs)', async () => {
    const server = await hold(0)
    const port = (server.address() as {port: number}).port
    try {
      expect(await answersAt('127.0.0.1', port)).to.equal('answers')
      expect(await answersAt('0.0.0.0', port), 'a wildcard host is asked on loopback').to.equal('answers')
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
    expect(await answersAt('127.0.0.1', port), 'the control: nothing there any more').to.equal('refused')
  })

  it('names the container, else what forwards the port, else nothing', () => {
    expect(takenBy({state: 'taken', holder: 'web-1'})).to.equal(' by container web-1')
    expect(takenBy({state: 'taken', forwarded: true})).to.include(
      'it answers, though nothing on this engine publishes it',
    )
    expect(takenBy({state: 'taken'})).to.equal('')
  })
})
