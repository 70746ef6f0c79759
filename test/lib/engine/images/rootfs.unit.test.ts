import {expect} from 'chai'
import {existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {installedVersion, mountsUnder, removeBuildDir, trimRootfs} from '../../../../src/lib/engine/images/rootfs.js'

describe('rootfs', () => {
  let dir: string
  let rootfs: string
  let outside: string

  function file(relative: string, bytes = 10): void {
    const target = path.join(rootfs, relative)
    mkdirSync(path.dirname(target), {recursive: true})
    writeFileSync(target, 'x'.repeat(bytes))
  }

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'stackctl-rootfs-test-'))
    rootfs = path.join(dir, 'rootfs')
    outside = path.join(dir, 'outside')
    mkdirSync(path.join(outside, 'doc'), {recursive: true})
    writeFileSync(path.join(outside, 'doc', 'keep-me'), 'host file')
  })

  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('removes what the rules name, keeps the rest, and counts the bytes', async () => {
    file('var/cache/apt/archives/bash_5.2_amd64.deb', 100)
    file('var/cache/apt/archives/lock', 0)
    file('usr/share/doc/bash/copyright', 50)
    file('usr/share/locale/de/LC_MESSAGES/bash.mo', 25)
    file('usr/share/locale/locale.alias', 5)
    file('usr/bin/bash', 7)
    const freed = await trimRootfs(rootfs, [
      {dir: 'var/cache/apt/archives', only: /\.deb$/},
      {dir: 'usr/share/doc'},
      {dir: 'usr/share/locale', keep: ['locale.alias']},
      {dir: 'usr/share/man'},
    ])
    expect(freed).to.equal(175)
    expect(existsSync(path.join(rootfs, 'var/cache/apt/archives/bash_5.2_amd64.deb'))).to.equal(false)
    expect(existsSync(path.join(rootfs, 'var/cache/apt/archives/lock'))).to.equal(true)
    expect(existsSync(path.join(rootfs, 'usr/share/doc'))).to.equal(true)
    expect(existsSync(path.join(rootfs, 'usr/share/doc/bash'))).to.equal(false)
    expect(existsSync(path.join(rootfs, 'usr/share/locale/de'))).to.equal(false)
    expect(existsSync(path.join(rootfs, 'usr/share/locale/locale.alias'))).to.equal(true)
    expect(existsSync(path.join(rootfs, 'usr/bin/bash'))).to.equal(true)
  })

  it('never follows a symlink out of the rootfs', async () => {
    mkdirSync(path.join(rootfs, 'usr'), {recursive: true})
    symlinkSync(outside, path.join(rootfs, 'usr/share'))
    expect(await trimRootfs(rootfs, [{dir: 'usr/share/doc'}])).to.equal(0)
    expect(existsSync(path.join(outside, 'doc', 'keep-me'))).to.equal(true)
  })

  it("reads the package's installed version, or says it does not know", async () => {
    file('var/lib/dpkg/status')
    writeFileSync(
      path.join(rootfs, 'var/lib/dpkg/status'),
      'Package: nodejs\nStatus: install ok installed\nVersion: 20.19.2+dfsg-1\n',
    )
    expect(await installedVersion(rootfs, 'nodejs')).to.equal('20.19.2+dfsg-1')
    expect(await installedVersion(path.join(dir, 'missing'), 'nodejs')).to.equal('unknown')
  })

  it('finds mounts below a folder, deepest first, decoding escaped names', async () => {
    const table = [
      '/dev/vda / ext4 rw 0 0',
      'proc /tmp/stackctl-a/rootfs/proc proc rw 0 0',
      'sysfs /tmp/stackctl-a/rootfs/sys sysfs rw 0 0',
      'devpts /tmp/stackctl-a/rootfs/dev/pts devpts rw 0 0',
      'tmpfs /tmp/stackctl-a/with\\040space tmpfs rw 0 0',
      'proc /tmp/stackctl-ab/rootfs/proc proc rw 0 0',
    ].join('\n')
    expect(await mountsUnder('/tmp/stackctl-a', table)).to.deep.equal([
      '/tmp/stackctl-a/rootfs/dev/pts',
      '/tmp/stackctl-a/rootfs/proc',
      '/tmp/stackctl-a/rootfs/sys',
      '/tmp/stackctl-a/with space',
    ])
  })

  it('removes a build folder that has nothing mounted inside', async () => {
    file('usr/bin/bash')
    await removeBuildDir(dir)
    expect(existsSync(dir)).to.equal(false)
  })
})
