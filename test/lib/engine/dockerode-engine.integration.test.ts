/**
 * The engine layer against the real engine: a one-shot container's output is whole, however large; a process runs
 * as the user it is asked for, the same way for every kind of process.
 */
import {expect} from 'chai'

import {VolumeOptionsRefused} from '../../../src/lib/errors.js'
import {engine, uniqueName} from '../../helpers/docker.js'

describe('engine layer (integration)', function () {
  this.timeout(120_000)

  it('returns a one-shot container’s output whole beyond 64 KiB, and says it was not cut', async () => {
    const result = await engine.containers.runOneShot({
      image: 'stackctl/node:20',
      entrypoint: ['node'],
      cmd: ['-e', 'process.stdout.write("x".repeat(300000))'],
      readOnlyVolumes: {},
    })
    expect(result.exitCode).to.equal(0)
    expect(result.stdout).to.have.length(300_000)
    expect(result.truncated).to.equal(false)
  })

  it('runs exec, detached exec, one-shot and started container as the user asked for (its groups too); root without one', async () => {
    const image = 'stackctl/postgres:17'
    const started: string[] = []
    const start = async (user?: string) => {
      const name = uniqueName('user')
      const spec = {name, image, env: [], cmd: ['sleep', '300'], labels: {}, volumes: {}, readOnlyFiles: {}}
      const id = await engine.containers.start(user === undefined ? spec : {...spec, user})
      started.push(id)
      return id
    }
    const who = ['sh', '-c', 'echo "$(id -un) $(id -Gn)"']
    try {
      const id = await start()
      expect((await engine.containers.exec(id, who, {user: 'postgres'})).stdout.trim()).to.equal(
        'postgres postgres ssl-cert',
      )
      // The control: the same exec without a user runs as the container's own, root.
      expect((await engine.containers.exec(id, who)).stdout.trim()).to.equal('root root')

      const note = (file: string) => ['sh', '-c', `echo "$(id -un) $(id -Gn)" > ${file}`]
      await engine.containers.execDetached(id, note('/tmp/as-postgres'), {user: 'postgres'})
      await engine.containers.execDetached(id, note('/tmp/as-default'))
      const read = async (file: string) => {
        for (let i = 0; i < 50; i++) {
          const seen = await engine.containers.exec(id, ['cat', file])
          if (seen.exitCode === 0 && seen.stdout.trim()) return seen.stdout.trim()
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
        return undefined
      }
      expect(await read('/tmp/as-postgres')).to.equal('postgres postgres ssl-cert')
      expect(await read('/tmp/as-default')).to.equal('root root')

      const oneShot = (user?: string) =>
        engine.containers.runOneShot({
          image,
          entrypoint: [who[0]],
          cmd: who.slice(1),
          readOnlyVolumes: {},
          ...(user ? {user} : {}),
        })
      expect((await oneShot('postgres')).stdout.trim()).to.equal('postgres postgres ssl-cert')
      expect((await oneShot()).stdout.trim()).to.equal('root root')

      // A started container's own first process (PID 1).
      const first = ['stat', '-c', '%U', '/proc/1']
      expect((await engine.containers.exec(await start('postgres'), first)).stdout.trim()).to.equal('postgres')
      expect((await engine.containers.exec(id, first)).stdout.trim()).to.equal('root')
    } finally {
      for (const id of started) await engine.containers.remove(id)
    }
  })

  it('reports a missing container as undefined, not as an error', async () => {
    expect(await engine.containers.inspect('st-no-such-container-0000')).to.equal(undefined)
    expect(await engine.volumes.inspect('st-no-such-volume-0000')).to.equal(undefined)
    expect(await engine.images.inspect('stackctl/no-such-image:0')).to.equal(undefined)
  })

  it('names the options a volume create was refused for, creating nothing; another failure is passed on as it came', async () => {
    const name = uniqueName('opts')
    for (const [options, reason] of [
      [{device: '/tmp'}, 'missing required option: "type"'],
      [{nosuch: '1'}, 'invalid option: "nosuch"'],
    ] as const) {
      const error = await engine.volumes.create({name, labels: {}, driverOptions: options}).catch((e: unknown) => e)
      expect(error).to.be.instanceOf(VolumeOptionsRefused)
      expect((error as VolumeOptionsRefused).reason).to.equal(reason)
      expect(await engine.volumes.inspect(name)).to.equal(undefined)
    }
    // The control: a name the engine refuses is no options problem.
    const badName = await engine.volumes.create({name: 'no/slash', labels: {}}).catch((e: unknown) => e)
    expect(badName).to.be.instanceOf(Error)
    expect(badName).to.not.be.instanceOf(VolumeOptionsRefused)
  })
})
