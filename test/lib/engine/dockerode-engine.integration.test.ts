/** The engine layer against the real engine: a one-shot container's output is whole, however large. */
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
