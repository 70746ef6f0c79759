import {expect} from 'chai'

import {UsageError} from '../../../../src/lib/errors.js'
import {
  IMAGE_SPECS,
  buildArgs,
  buildEnv,
  buildLabels,
  debootstrapArgs,
  finishLabels,
  imageReference,
  importArgs,
  normalizeMirror,
  PACKAGES_LABEL,
  packageSet,
  packageVersion,
  postgresSpec,
  planBuild,
  releaseUrl,
  rootfsReference,
  selectSpecs,
  shouldTrim,
  sourceFor,
  tarArgs,
  TEMPLATE_LABEL,
  templateDigest,
  trimDigest,
  trimRules,
  TRIM_LABEL,
  validateSuite,
} from '../../../../src/lib/engine/images/image-specs.js'

const source = {mirror: 'http://deb.debian.org/debian', suite: 'trixie'}
const postgres = IMAGE_SPECS.postgres
const node = IMAGE_SPECS.node

describe('image specs', () => {
  it('names the two images, their packages and their rootfs images', () => {
    expect(imageReference(postgres)).to.equal('stackctl/postgres:17')
    expect(imageReference(node)).to.equal('stackctl/node:20')
    expect(rootfsReference(postgres)).to.equal('stackctl/postgres-rootfs:17')
    expect(postgres.debianPackage).to.equal('postgresql-17')
    expect(node.debianPackage).to.equal('nodejs')
  })

  it('selects the stack images in a fixed order, or the one asked for (the swarm node only when asked)', () => {
    expect(selectSpecs().map((spec) => spec.name)).to.deep.equal(['postgres', 'node'])
    expect(selectSpecs('node').map((spec) => spec.name)).to.deep.equal(['node'])
    expect(selectSpecs('swarm-node').map((spec) => spec.name)).to.deep.equal(['swarm-node'])
    expect(selectSpecs('patroni').map((spec) => spec.name)).to.deep.equal(['patroni'])
    expect(() => selectSpecs('mysql'))
      .to.throw(UsageError, "unknown image 'mysql'")
      .with.property('suggestion', 'use one of: postgres, node, swarm-node, patroni')
  })

  it('builds the HA image from trixie only: Patroni 4.0 with PostgreSQL 17, its etcd client, etcd and HAProxy', () => {
    const patroni = IMAGE_SPECS.patroni
    expect(imageReference(patroni)).to.equal('stackctl/patroni:17')
    // Debian 12's Patroni (3.0.2) cannot run PostgreSQL 17: --suite must not move it there.
    expect(sourceFor(patroni, source.mirror, 'bookworm').suite).to.equal('trixie')
    expect(debootstrapArgs(patroni, '/tmp/r', sourceFor(patroni, source.mirror))[1]).to.equal(
      '--include=patroni,postgresql-17,python3-etcd,etcd-server,haproxy',
    )
  })

  it('builds the swarm node from its own Debian release, with dockerd and what a nested engine needs', () => {
    const swarmNode = IMAGE_SPECS['swarm-node']
    expect(imageReference(swarmNode)).to.equal('stackctl/swarm-node:20.10')
    // Pinned: an explicit --suite for the other images does not move the node's engine to another release.
    const nodeSource = sourceFor(swarmNode, source.mirror, 'trixie')
    expect(nodeSource.suite).to.equal('bookworm')
    expect(debootstrapArgs(swarmNode, '/tmp/x/rootfs', nodeSource)).to.deep.equal([
      '--variant=minbase',
      '--include=docker.io,iptables,ca-certificates,iproute2,procps',
      'bookworm',
      '/tmp/x/rootfs',
      'http://deb.debian.org/debian',
    ])
    expect(importArgs(swarmNode, nodeSource)[2]).to.equal('debootstrap bookworm docker.io')
    expect(buildLabels(swarmNode, nodeSource, '20.10.24', 'abc')['io.stackctl.image.suite']).to.equal('bookworm')
  })

  it('makes one PostgreSQL image per major, from the Debian release that ships it', () => {
    const pg15 = postgresSpec(15)
    expect(imageReference(pg15)).to.equal('stackctl/postgres:15')
    expect(rootfsReference(pg15)).to.equal('stackctl/postgres-rootfs:15')
    expect(pg15.debianPackage).to.equal('postgresql-15')
    expect(sourceFor(pg15, 'http://m/debian')).to.deep.equal({mirror: 'http://m/debian', suite: 'bookworm'})
    expect(sourceFor(postgres, 'http://m/debian')).to.deep.equal({mirror: 'http://m/debian', suite: 'trixie'})
    expect(sourceFor(pg15, 'http://m/debian', 'sid').suite).to.equal('sid') // an explicit --suite wins
    expect(debootstrapArgs(pg15, '/tmp/r', sourceFor(pg15, 'http://m/debian'))).to.deep.equal([
      '--variant=minbase',
      '--include=postgresql-15,pgbackrest',
      'bookworm',
      '/tmp/r',
      'http://m/debian',
    ])
    expect(buildArgs(pg15, '/ctx', {})).to.include.members(['PG_MAJOR=15', 'ROOTFS_IMAGE=stackctl/postgres-rootfs:15'])
    // The package's own cluster of that major is trimmed, not another's.
    const trim = trimRules(pg15).find((rule) => rule.dir === 'var/lib/postgresql')!
    expect([shouldTrim(trim, '15'), shouldTrim(trim, '17')]).to.deep.equal([true, false])
    expect(() => postgresSpec(16))
      .to.throw(UsageError, 'local PostgreSQL images exist for majors 15, 17, not 16')
      .with.property('exitCode', 2)
  })

  it('selects the PostgreSQL image once per major asked for', () => {
    expect(selectSpecs('postgres', [15, 17, 15]).map(imageReference)).to.deep.equal([
      'stackctl/postgres:15',
      'stackctl/postgres:17',
    ])
    expect(selectSpecs(undefined, [15]).map(imageReference)).to.deep.equal(['stackctl/postgres:15', 'stackctl/node:20'])
  })

  it('accepts http(s) mirrors without trailing slashes and rejects the rest', () => {
    expect(normalizeMirror('http://deb.debian.org/debian/')).to.equal('http://deb.debian.org/debian')
    expect(normalizeMirror('https://mirror.example/debian')).to.equal('https://mirror.example/debian')
    expect(() => normalizeMirror('deb.debian.org/debian')).to.throw(UsageError, 'invalid Debian mirror URL')
    expect(() => normalizeMirror('ftp://deb.debian.org/debian')).to.throw(UsageError, 'must be an http(s) URL')
    expect(releaseUrl('http://m/debian', 'trixie')).to.equal('http://m/debian/dists/trixie/Release')
  })

  it('accepts suite code names only', () => {
    expect(validateSuite('trixie')).to.equal('trixie')
    expect(() => validateSuite('../trixie'))
      .to.throw(UsageError)
      .with.property('exitCode', 2)
  })

  it('builds the debootstrap, tar and import arguments', () => {
    expect(debootstrapArgs(postgres, '/tmp/x/rootfs', source)).to.deep.equal([
      '--variant=minbase',
      '--include=postgresql-17,pgbackrest',
      'trixie',
      '/tmp/x/rootfs',
      'http://deb.debian.org/debian',
    ])
    expect(tarArgs('/tmp/x/rootfs')).to.deep.equal([
      '--create',
      '--numeric-owner',
      '--directory',
      '/tmp/x/rootfs',
      '--file',
      '-',
      '.',
    ])
    expect(importArgs(node, source)).to.deep.equal([
      'import',
      '--message',
      'debootstrap trixie nodejs',
      '-',
      'stackctl/node-rootfs:20',
    ])
  })

  it('builds FROM the rootfs image, labelled with the package version and template, tagged with the final name', () => {
    const labels = buildLabels(postgres, source, '17.6-0+deb13u1', 'abc123')
    expect(buildArgs(postgres, '/pkg/templates/images/postgres', labels)).to.deep.equal([
      'build',
      '--build-arg',
      'ROOTFS_IMAGE=stackctl/postgres-rootfs:17',
      '--build-arg',
      'PG_MAJOR=17',
      '--label',
      'io.stackctl.image.package=postgresql-17',
      '--label',
      'io.stackctl.image.package-version=17.6-0+deb13u1',
      '--label',
      'io.stackctl.image.suite=trixie',
      '--label',
      'io.stackctl.image.packages=pgbackrest,postgresql-17',
      '--label',
      `io.stackctl.image.trim=${trimDigest(postgres)}`,
      '--label',
      'io.stackctl.template-sha256=abc123',
      '--tag',
      'stackctl/postgres:17',
      '/pkg/templates/images/postgres',
    ])
  })

  it('digests a template by its files: order-free, and changed by any path or content', () => {
    const file = (path: string, text: string) => ({path, content: Buffer.from(text)})
    const base = templateDigest([file('Dockerfile', 'FROM x'), file('docker-entrypoint.sh', 'echo 1')])
    expect(base).to.match(/^[0-9a-f]{64}$/)
    expect(templateDigest([file('docker-entrypoint.sh', 'echo 1'), file('Dockerfile', 'FROM x')])).to.equal(base)
    expect(templateDigest([file('Dockerfile', 'FROM x'), file('docker-entrypoint.sh', 'echo 2')])).to.not.equal(base)
    expect(templateDigest([file('Dockerfile', 'FROM x'), file('entrypoint.sh', 'echo 1')])).to.not.equal(base)
    // Boundaries between files count: moving a byte from one file to the next changes the digest.
    expect(templateDigest([file('a', 'xy'), file('b', 'z')])).to.not.equal(
      templateDigest([file('a', 'x'), file('b', 'yz')]),
    )
  })

  it('keeps a current image, finishes a stale one on its rootfs, and builds the rest from debootstrap', () => {
    const current = {[TEMPLATE_LABEL]: 'new'}
    expect(planBuild({imageLabels: current, rootfsPresent: true, templateSha256: 'new'})).to.deep.equal({
      action: 'keep',
    })
    expect(planBuild({imageLabels: current, rootfsPresent: false, templateSha256: 'new'})).to.deep.equal({
      action: 'keep',
    })
    expect(
      planBuild({imageLabels: {[TEMPLATE_LABEL]: 'old'}, rootfsPresent: true, templateSha256: 'new'}),
    ).to.deep.equal({
      action: 'finish',
      reason: 'stale: its template changed since it was built',
    })
    // Images built before the label existed are stale too: that is how existing machines get a new entrypoint.
    expect(planBuild({imageLabels: {}, rootfsPresent: true, templateSha256: 'new'})).to.deep.equal({
      action: 'finish',
      reason: 'stale: built before images recorded their template',
    })
    expect(planBuild({imageLabels: {[TEMPLATE_LABEL]: 'old'}, rootfsPresent: false, templateSha256: 'new'})).to.include(
      {
        action: 'full',
      },
    )
    expect(planBuild({rootfsPresent: true, templateSha256: 'new'})).to.deep.equal({action: 'full', reason: 'missing'})
    expect(planBuild({imageLabels: current, rootfsPresent: true, templateSha256: 'new', force: true})).to.deep.equal({
      action: 'full',
      reason: 'forced',
    })
  })

  it('builds again from debootstrap an image whose package set is not the one it was built with', () => {
    const packages = packageSet(postgresSpec(15))
    expect(packages).to.equal('pgbackrest,postgresql-15')
    const built = (labels: Record<string, string>) =>
      planBuild({
        imageLabels: {[TEMPLATE_LABEL]: 'new', ...labels},
        rootfsPresent: true,
        templateSha256: 'new',
        packages,
      })
    expect(built({[PACKAGES_LABEL]: packages})).to.deep.equal({action: 'keep'})
    expect(built({[PACKAGES_LABEL]: 'postgresql-15'})).to.deep.equal({
      action: 'full',
      reason: 'stale: its packages changed (built with postgresql-15, now pgbackrest,postgresql-15)',
    })
    // Before the packages label, an image recorded only its main package: that is all it is known to hold.
    expect(built({'io.stackctl.image.package': 'postgresql-15'})).to.deep.equal({
      action: 'full',
      reason: 'stale: built before images recorded their packages (now pgbackrest,postgresql-15)',
    })
    const node = packageSet(IMAGE_SPECS.node)
    expect(
      planBuild({
        imageLabels: {[TEMPLATE_LABEL]: 'new', 'io.stackctl.image.package': 'nodejs'},
        rootfsPresent: true,
        templateSha256: 'new',
        packages: node,
      }),
    ).to.deep.equal({action: 'keep'})
  })

  it('builds again from debootstrap an image whose rootfs was trimmed by other rules', () => {
    const trim = trimDigest(postgres)
    const built = (labels: Record<string, string>) =>
      planBuild({
        imageLabels: {[TEMPLATE_LABEL]: 'new', [PACKAGES_LABEL]: packageSet(postgres), ...labels},
        rootfsPresent: true,
        templateSha256: 'new',
        packages: packageSet(postgres),
        trim,
      })
    expect(built({[TRIM_LABEL]: trim})).to.deep.equal({action: 'keep'})
    expect(built({[TRIM_LABEL]: 'older'})).to.deep.equal({
      action: 'full',
      reason: 'stale: what its rootfs leaves out changed since it was built',
    })
    expect(built({})).to.deep.equal({
      action: 'full',
      reason: 'stale: built before images recorded what their rootfs leaves out',
    })
    expect(buildLabels(postgres, {mirror: 'http://m', suite: 'trixie'}, '17.6', 'abc')[TRIM_LABEL]).to.equal(trim)
    // A digest of the rules themselves: another major (other folders) or another image differs.
    expect(trimDigest(postgresSpec(15))).to.not.equal(trim)
    expect(trimDigest(IMAGE_SPECS.node)).to.not.equal(trim)
  })

  it("leaves PostgreSQL's JIT out of the database images (llvmjit, LLVM, Z3, the bitcode), and nothing else", () => {
    for (const spec of [postgres, IMAGE_SPECS.patroni]) {
      const rules = trimRules(spec)
      const trimmed = (dir: string, entry: string) =>
        rules.filter((r) => r.dir === dir).some((r) => shouldTrim(r, entry))
      expect(trimmed('usr/lib/postgresql/17/lib', 'llvmjit.so'), spec.name).to.equal(true)
      expect(trimmed('usr/lib/postgresql/17/lib', 'llvmjit_types.bc'), spec.name).to.equal(true)
      expect(trimmed('usr/lib/postgresql/17/lib/bitcode', 'postgres'), spec.name).to.equal(true)
      expect(trimmed('usr/lib/x86_64-linux-gnu', 'libLLVM.so.19.1'), spec.name).to.equal(true)
      expect(trimmed('usr/lib/x86_64-linux-gnu', 'libLLVM-19.so'), spec.name).to.equal(true)
      expect(trimmed('usr/lib/x86_64-linux-gnu', 'libz3.so.4'), spec.name).to.equal(true)
      // Controls: the server's own libraries and others stay.
      expect(trimmed('usr/lib/postgresql/17/lib', 'plpgsql.so'), spec.name).to.equal(false)
      expect(trimmed('usr/lib/x86_64-linux-gnu', 'libpq.so.5'), spec.name).to.equal(false)
      expect(trimmed('usr/lib/x86_64-linux-gnu', 'libz.so.1'), spec.name).to.equal(false)
      expect(trimmed('usr/lib/x86_64-linux-gnu', 'libzstd.so.1'), spec.name).to.equal(false)
    }
    expect(trimRules(IMAGE_SPECS.node).map((r) => r.dir)).to.not.include('usr/lib/x86_64-linux-gnu')
  })

  it("labels a finished image with the replaced image's package labels and the new template digest", () => {
    const previous = {
      'io.stackctl.image.package': 'postgresql-17',
      'io.stackctl.image.package-version': '17.6-0+deb13u1',
      'io.stackctl.image.suite': 'trixie',
      [TEMPLATE_LABEL]: 'old',
      'org.example.other': 'x',
    }
    expect(finishLabels(previous, 'new')).to.deep.equal({
      'io.stackctl.image.package': 'postgresql-17',
      'io.stackctl.image.package-version': '17.6-0+deb13u1',
      'io.stackctl.image.suite': 'trixie',
      [TEMPLATE_LABEL]: 'new',
    })
  })

  it('uses the legacy builder when the docker CLI has no buildx', () => {
    expect(buildEnv(false)).to.deep.equal({DOCKER_BUILDKIT: '0'})
    expect(buildEnv(true)).to.deep.equal({})
  })

  it('trims caches, lists, docs and translations, and the PostgreSQL package cluster', () => {
    const rules = trimRules(postgres)
    const rule = (dir: string) => rules.find((r) => r.dir === dir)!
    expect(shouldTrim(rule('var/cache/apt/archives'), 'bash_5.2_amd64.deb')).to.equal(true)
    expect(shouldTrim(rule('var/cache/apt/archives'), 'partial')).to.equal(false)
    expect(shouldTrim(rule('var/lib/apt/lists'), 'deb.debian.org_debian_dists_trixie_InRelease')).to.equal(true)
    expect(shouldTrim(rule('usr/share/doc'), 'bash')).to.equal(true)
    expect(shouldTrim(rule('usr/share/locale'), 'de')).to.equal(true)
    expect(shouldTrim(rule('usr/share/locale'), 'locale.alias')).to.equal(false)
    expect(shouldTrim(rule('var/lib/postgresql'), '17')).to.equal(true)
    expect(shouldTrim(rule('var/lib/postgresql'), 'data')).to.equal(false)
    expect(trimRules(node).map((r) => r.dir)).to.not.include('var/lib/postgresql')
    expect(rules.map((r) => r.dir)).to.include.members(['usr/share/man', 'usr/share/info'])
  })

  it("reads an installed package's version from a dpkg status file", () => {
    const status = [
      'Package: nodejs\nStatus: deinstall ok config-files\nVersion: 18.0.0',
      'Package: postgresql-17\nStatus: install ok installed\nPriority: optional\nVersion: 17.6-0+deb13u1\nDescription: x\n more',
      'Package: nodejs\nStatus: install ok installed\nVersion: 20.19.2+dfsg-1',
    ].join('\n\n')
    expect(packageVersion(status, 'postgresql-17')).to.equal('17.6-0+deb13u1')
    expect(packageVersion(status, 'nodejs')).to.equal('20.19.2+dfsg-1')
    expect(packageVersion(status, 'bash')).to.equal(undefined)
  })
})
