/**
 * Kill mode's write phase against a fake API on loopback and a fake engine whose SIGKILL lands only after a
 * delay (as Podman's did): the kill must still interrupt writes, however fast the asked visits are answered.
 */
import {expect} from 'chai'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import type {Engine} from '../../../../src/lib/engine/engine.js'
import {writeWhileKilling} from '../../../../src/lib/operations/verify/kill.js'
import {VisitWriter} from '../../../../src/lib/operations/verify/load.js'

interface Stage {
  url: string
  engine: Engine
  close: () => Promise<void>
}

/**
 * An API that acknowledges every visit at once while the db lives (and answers 500 once it is dead, unless
 * `survives`), and an engine whose kill resolves after `killMs` with the container dead (unless `survives`).
 */
async function stage(killMs: number, survives = false): Promise<Stage> {
  let dead = false
  let id = 0
  const server: Server = createServer((_req, res) => {
    if (dead && !survives) {
      res.writeHead(500).end('db gone')
      return
    }
    id++
    res.writeHead(200, {'content-type': 'application/json'})
    res.end(JSON.stringify({visit: {id}}))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const engine = {
    containers: {
      async kill() {
        await new Promise((resolve) => setTimeout(resolve, killMs))
        dead = true
      },
      async inspect() {
        return {running: survives, exitCode: survives ? 0 : 137, finishedAtMs: Date.now()}
      },
    },
  } as unknown as Engine
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    engine,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

describe('kill mode: the kill lands while writes are in flight', () => {
  it('a kill the engine confirms after every asked visit was answered still interrupts writes: the writers go on until one fails', async () => {
    const s = await stage(300)
    try {
      const writer = new VisitWriter({url: s.url, visits: 40, concurrency: 4})
      const outcome = await writeWhileKilling(s.engine, 'db', writer, 40)
      expect(outcome.problems).to.deep.equal([])
      expect(outcome.kill!.acknowledgedBeforeKill).to.be.at.least(10)
      expect(outcome.kill!.failedAfterKill).to.be.greaterThan(0)
      expect(outcome.kill!.dbExitCode).to.equal(137)
      // The asked 40 were all answered before the kill landed (300 ms): only writing on found its moment.
      expect(outcome.written.attempted).to.be.greaterThan(40)
      expect(outcome.written.attempted).to.equal(outcome.written.acknowledged + outcome.written.failed)
    } finally {
      await s.close()
    }
  })

  it('control: a db that keeps acknowledging after its kill is reported: the kill interrupted no write', async () => {
    const s = await stage(50, true)
    try {
      const writer = new VisitWriter({url: s.url, visits: 40, concurrency: 4})
      const started = Date.now()
      const outcome = await writeWhileKilling(s.engine, 'db', writer, 40, 200)
      expect(outcome.problems).to.deep.equal([
        'the db container was still running after SIGKILL',
        'the kill interrupted no write: every attempt was acknowledged',
      ])
      // The writers stopped after the bound, not at a count.
      expect(Date.now() - started).to.be.lessThan(5000)
      expect(outcome.written.failed).to.equal(0)
    } finally {
      await s.close()
    }
  })
})
