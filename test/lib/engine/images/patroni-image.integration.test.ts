/**
 * The Patroni member's entrypoint against the real engine: one container per data directory. The swarm starts a
 * task's replacement while the old container still stops, and PostgreSQL's own interlock cannot see a server in
 * another container's namespaces; a second member container on the same volume must wait until the first one has
 * stopped, and a stop signal must end that wait at once. No etcd runs here: Patroni waits for its store, which keeps
 * the first container running with the lock held.
 */
import {expect} from 'chai'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {Cleanup, docker, uniqueName} from '../../../helpers/docker.js'
import {BUILD_TIMEOUT_MS, ensureImage} from './ensure-images.js'
import {execIn, holderAndWaiter, logs, newVolume as newVolumeOf, until} from './one-container.js'

const IMAGE = 'stackctl/patroni:17'
const WAITING = 'another container still runs pg1 on this volume; waiting for it to stop'

describe('stackctl/patroni:17 member entrypoint: one container per data directory (integration)', function () {
  this.timeout(180_000)
  const cleanup = new Cleanup()
  const hostDir = mkdtempSync(path.join(tmpdir(), 'stackctl-patroni-image-'))
  const passwordFile = path.join(hostDir, 'password')

  before(async function () {
    this.timeout(BUILD_TIMEOUT_MS)
    await ensureImage('patroni')
    writeFileSync(passwordFile, 'member lock\n', {mode: 0o644})
  })

  after(async () => {
    try {
      await cleanup.run()
    } finally {
      rmSync(hostDir, {recursive: true, force: true})
    }
  })

  const newVolume = () => newVolumeOf(cleanup, 'pgmember')

  /** A Patroni member pg1 on `volume`, its store unreachable (no etcd: Patroni keeps waiting for it). */
  async function member(volume: string): Promise<string> {
    const name = cleanup.container(uniqueName('pgmember'))
    const container = await docker.createContainer({
      name,
      Image: IMAGE,
      Cmd: ['patroni'],
      Env: [
        'STACKCTL_HA_NAME=pg1',
        'STACKCTL_HA_SCOPE=lock-test',
        'STACKCTL_HA_ETCD=127.0.0.1:2379',
        'POSTGRES_PASSWORD_FILE=/run/secrets/db_password',
      ],
      HostConfig: {
        Binds: [`${volume}:/var/lib/postgresql/data`, `${passwordFile}:/run/secrets/db_password:ro`],
        NetworkMode: 'none',
      },
    })
    await container.start()
    return name
  }

  /** What PID 1 of the container runs now: Patroni once the entrypoint handed over, the shell before. */
  const pid1 = async (name: string) => (await execIn(name, ['cat', '/proc/1/cmdline'])).output.replaceAll('\0', ' ')

  const runsPatroni = async (name: string) => (await pid1(name)).includes('/usr/bin/patroni')

  it('a second container on the same volume waits until the first has stopped; on another volume it does not', async () => {
    const {first, second} = await holderAndWaiter(await newVolume(), member, runsPatroni, WAITING)
    // The control: a member on a volume of its own starts Patroni while the first one runs.
    const elsewhere = await member(await newVolume())
    await until(`${elsewhere} runs Patroni`, () => runsPatroni(elsewhere))
    expect(await logs(elsewhere)).not.to.include(WAITING)
    const waiting = await pid1(second)
    expect(waiting, 'the second container started Patroni beside the first').not.to.include('/usr/bin/patroni')
    expect(waiting).to.include('/usr/local/bin/stackctl-ha patroni')

    await docker.getContainer(first).stop({t: 30})
    await until(`${second} runs Patroni once ${first} stopped`, () => runsPatroni(second))
    expect(await logs(second)).to.include('the other container stopped; starting pg1')
  })

  it('a stop signal ends the wait at once (exit 143, not the engine’s SIGKILL after the grace period)', async () => {
    const {first, second} = await holderAndWaiter(await newVolume(), member, runsPatroni, WAITING)

    await docker.getContainer(second).stop({t: 30})
    const state = (await docker.getContainer(second).inspect()).State
    expect(state.ExitCode, await logs(second)).to.equal(143)
    expect(await runsPatroni(first), 'the first container kept running').to.equal(true)
  })
})
