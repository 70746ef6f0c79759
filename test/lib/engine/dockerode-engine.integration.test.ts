/** The engine layer against the real engine: a one-shot container's output is whole, however large. */
import {expect} from 'chai'

import {engine} from '../../helpers/docker.js'

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
})
