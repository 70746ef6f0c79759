/**
 * The PostgreSQL image's entrypoint against the real engine: one server per data directory. A swarm starts a
 * db task's replacement while the old container still stops, and PostgreSQL's postmaster.pid interlock cannot see
 * a server in another container's PID and IPC namespaces; the entrypoint's lock on the volume's directory lasts as
 * long as the server runs, so a second container on the same volume waits until the first has stopped.
 */
import {expect} from 'chai'

import {Cleanup, docker, uniqueName} from '../../../helpers/docker.js'
import {BUILD_TIMEOUT_MS, ensureImage} from './ensure-images.js'
import {execIn, holderAndWaiter, logs, newVolume as newVolumeOf, until} from './one-container.js'

const IMAGE = 'stackctl/postgres:17'
const WAITING = 'another container still uses /var/lib/postgresql/data'

describe('stackctl/postgres:17 entrypoint: one server per data directory (integration)', function () {
  this.timeout(180_000)
  const cleanup = new Cleanup()

  before(async function () {
    this.timeout(BUILD_TIMEOUT_MS)
    await ensureImage('postgres')
  })

  after(() => cleanup.run())

  const newVolume = () => newVolumeOf(cleanup, 'pglock')

  async function server(volume: string): Promise<string> {
    const name = cleanup.container(uniqueName('pglock'))
    const container = await docker.createContainer({
      name,
      Image: IMAGE,
      Env: ['POSTGRES_PASSWORD=data lock', 'POSTGRES_DB=visits'],
      HostConfig: {Binds: [`${volume}:/var/lib/postgresql/data`], NetworkMode: 'none'},
    })
    await container.start()
    return name
  }

  /** pg_isready over the container's own socket: its server accepts connections. */
  const ready = async (name: string) => (await execIn(name, ['pg_isready', '-q'])).exitCode === 0

  it('a second container on a volume whose server runs waits for it to stop, then serves the same data', async () => {
    const {first, second} = await holderAndWaiter(await newVolume(), server, ready, WAITING)
    // The control: a server on a volume of its own starts while the first one runs.
    const elsewhere = await server(await newVolume())
    await until(`${elsewhere} ready`, () => ready(elsewhere))
    expect(await logs(elsewhere)).not.to.include(WAITING)
    expect(await ready(second), 'the second container started a server beside the first').to.equal(false)

    await docker.getContainer(first).stop({t: 30})
    await until(`${second} ready once ${first} stopped`, () => ready(second))
    expect(await logs(second)).to.include('the other container stopped; going on')
  })

  it('a stop signal (the image’s SIGINT) ends the wait at once (exit 130) and leaves the running server alone', async () => {
    const {first, second} = await holderAndWaiter(await newVolume(), server, ready, WAITING)

    await docker.getContainer(second).stop({t: 30})
    expect((await docker.getContainer(second).inspect()).State.ExitCode, await logs(second)).to.equal(130)
    expect(await ready(first)).to.equal(true)
  })
})
