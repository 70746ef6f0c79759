/**
 * The host-side PG_VERSION reader (used when no image can run the container reader) on real volumes.
 */
import {expect} from 'chai'

import {readPgVersionFromHost} from '../../../../src/lib/engine/pgdata/stored.js'
import {stubPgVolume} from '../../../commands/volume/stub-volume.js'
import {Cleanup, docker, uniqueName} from '../../../helpers/docker.js'

const ENDPOINT = 'unix:///var/run/docker.sock'

describe('readPgVersionFromHost (integration)', function () {
  this.timeout(120_000)
  const cleanup = new Cleanup()

  before(function () {
    if (process.getuid?.() !== 0) this.skip() // volume directories are readable by root only
  })

  after(() => cleanup.run())

  async function mountpoint(files: Record<string, string>): Promise<string> {
    const name = await stubPgVolume(uniqueName('vol-host'), files, cleanup)
    return (await docker.getVolume(name).inspect()).Mountpoint
  }

  it('reads the major and the layout from the volume’s mountpoint', async () => {
    expect(await readPgVersionFromHost(ENDPOINT, await mountpoint({PG_VERSION: '15'}), 17)).to.deep.equal({
      known: true,
      found: {major: 15, dataDir: ''},
    })
    expect(await readPgVersionFromHost(ENDPOINT, await mountpoint({'18/docker/PG_VERSION': '18'}), 17)).to.deep.equal({
      known: true,
      found: {major: 18, dataDir: '18/docker'},
    })
  })

  it('tells an empty volume from one it cannot see', async () => {
    expect(await readPgVersionFromHost(ENDPOINT, await mountpoint({}), 17)).to.deep.equal({
      known: true,
      found: undefined,
    })
    expect(await readPgVersionFromHost(ENDPOINT, '/nonexistent/volume/_data', 17)).to.deep.equal({known: false})
  })
})
