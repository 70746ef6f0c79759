/**
 * `stackctl images build` through oclif (runCommand loads the CLI from src/): the fast path when the images
 * exist, the --json result, and failures that must stop before any work (and before touching any image).
 */
import {expect} from 'chai'
import {createServer} from 'node:net'

import {runCommand} from '@oclif/test'

import type {BuildImagesResult} from '../../../src/lib/engine/images/builder.js'
import {repoRoot} from '../../helpers/cli.js'
import {docker} from '../../helpers/docker.js'
import {BUILD_TIMEOUT_MS, ensureImage} from '../../lib/engine/images/ensure-images.js'

function images(...args: string[]) {
  return runCommand<BuildImagesResult>(['images', 'build', ...args], {root: repoRoot})
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as {port: number}
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe('images build (integration)', function () {
  this.timeout(60_000)

  before(async function () {
    this.timeout(BUILD_TIMEOUT_MS)
    await ensureImage('postgres')
    await ensureImage('node')
  })

  it('keeps existing images, showing the one step it took', async () => {
    const {stdout, stderr, error, result} = await images()
    expect(error).to.equal(undefined)
    expect(stderr).to.match(/^✔ check the images present \([\d.]+ s\)$/m)
    expect(stderr).to.not.match(/build stackctl/)
    expect(result?.images.map((image) => [image.image, image.status])).to.deep.equal([
      ['stackctl/postgres:17', 'present'],
      ['stackctl/node:20', 'present'],
    ])
    expect(stdout).to.match(/^stackctl\/postgres:17\s+present\s+\d+ MB 17\./m)
    expect(stdout).to.match(/^stackctl\/node:20\s+present\s+\d+ MB 20\./m)
  })

  it('prints the typed result with --json, and builds only what --only names', async () => {
    const {stdout, error} = await images('--json', '--only', 'node')
    expect(error).to.equal(undefined)
    const parsed = JSON.parse(stdout) as BuildImagesResult
    expect(parsed.images).to.have.length(1)
    expect(parsed.images[0]).to.include({name: 'node', image: 'stackctl/node:20', tag: '20', status: 'present'})
    expect(parsed.images[0].sizeBytes).to.be.above(50_000_000)
    expect(parsed.seconds).to.be.a('number')
  })

  it('rejects an unknown image and a non-http mirror as usage errors (exit 2)', async () => {
    const unknown = await images('--only', 'mysql')
    expect(unknown.error?.oclif?.exit).to.equal(2)
    expect(unknown.stderr).to.match(/Expected --only=mysql to be one of: postgres, node/)
    expect(unknown.stderr).to.include('Hint: see stackctl images build --help')

    const mirror = await images('--mirror', 'ftp://deb.debian.org/debian')
    expect(mirror.error?.oclif?.exit).to.equal(2)
    expect(mirror.stderr).to.include("the Debian mirror must be an http(s) URL, got 'ftp://deb.debian.org/debian'")
    expect(mirror.stderr).to.include('use a URL like http://deb.debian.org/debian')
  })

  it('checks the mirror before a forced rebuild and leaves the images alone when it is unreachable', async function () {
    if (process.getuid?.() !== 0) this.skip() // without root the root check answers first
    const before = (await docker.getImage('stackctl/node:20').inspect()).Id
    const mirror = `http://127.0.0.1:${await closedPort()}/debian`
    const {error, stderr} = await images('--force', '--only', 'node', '--mirror', mirror)
    expect(error?.oclif?.exit).to.equal(2)
    expect(stderr).to.include(`cannot reach the Debian mirror ${mirror} (ECONNREFUSED)`)
    expect(stderr).to.match(/^✖ check debootstrap and the Debian mirror \([\d.]+ s\)$/m)
    expect((await docker.getImage('stackctl/node:20').inspect()).Id).to.equal(before)
  })
})
