/**
 * The locally built Node.js image against the real engine: Node 20 on PATH, the official image's `node` user
 * (uid/gid 1000, home /home/node), WORKDIR /app and `node` as the default command, also under the hardening
 * the stack's compose file applies (read-only root, no capabilities, no new privileges).
 */
import {expect} from 'chai'

import type Docker from 'dockerode'

import {demuxBuffer} from '../../../../src/lib/engine/frames.js'
import {Cleanup, docker, uniqueName} from '../../../helpers/docker.js'
import {BUILD_TIMEOUT_MS, ensureImage} from './ensure-images.js'

const IMAGE = 'stackctl/node:20'

interface Ran {
  exitCode: number
  output: string
}

describe('stackctl/node:20 image (integration)', function () {
  this.timeout(120_000)
  const cleanup = new Cleanup()

  before(async function () {
    this.timeout(BUILD_TIMEOUT_MS)
    await ensureImage('node')
  })

  after(() => cleanup.run())

  /** Runs a command to completion in a new container and returns its exit code and combined output. */
  async function runOnce(cmd: string[], options: Partial<Docker.ContainerCreateOptions> = {}): Promise<Ran> {
    const container = await docker.createContainer({
      name: cleanup.container(uniqueName('node')),
      Image: IMAGE,
      Cmd: cmd,
      ...options,
    })
    await container.start()
    const {StatusCode} = (await container.wait()) as {StatusCode: number}
    const logs = (await container.logs({stdout: true, stderr: true})) as Buffer
    return {exitCode: StatusCode, output: demuxBuffer(logs).trim()}
  }

  it('runs Node.js 20', async () => {
    const ran = await runOnce(['node', '--version'])
    expect(ran.exitCode, ran.output).to.equal(0)
    expect(ran.output).to.match(/^v20\.\d+\.\d+$/)
  })

  it('has the user node (1000:1000, home /home/node) and works in /app', async () => {
    const ran = await runOnce(['sh', '-c', 'id -u; id -g; echo "$HOME"; pwd'], {User: 'node'})
    expect(ran.exitCode, ran.output).to.equal(0)
    expect(ran.output.split('\n')).to.deep.equal(['1000', '1000', '/home/node', '/app'])
  })

  it('runs `node` by default and, like the official image, as root unless told otherwise', async () => {
    const config = (await docker.getImage(IMAGE).inspect()).Config
    expect(config.Cmd).to.deep.equal(['node'])
    expect(config.WorkingDir).to.equal('/app')
    expect(config.User ?? '').to.equal('')
  })

  it('runs a script as 1000:1000 on a read-only root without capabilities', async () => {
    const ran = await runOnce(['node', '-e', 'console.log(process.getuid(), 6 * 7)'], {
      User: '1000:1000',
      HostConfig: {ReadonlyRootfs: true, CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges:true']},
    })
    expect(ran.exitCode, ran.output).to.equal(0)
    expect(ran.output).to.equal('1000 42')
  })
})
