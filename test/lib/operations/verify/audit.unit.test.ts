import {expect} from 'chai'

import {
  auditDurability,
  coveringMount,
  type AuditFacts,
  type MountFact,
} from '../../../../src/lib/operations/verify/audit.js'

const DATA = '/var/lib/postgresql/data'
const VOLUME = 'demo_postgres_data'
const SECRET: MountFact = {type: 'bind', destination: '/run/secrets/db_password', source: '/tmp/s/secrets/db_password'}

function facts(overrides: {settings?: Partial<AuditFacts['settings']>; mounts?: MountFact[]} = {}): AuditFacts {
  return {
    settings: {fsync: 'on', synchronousCommit: 'on', fullPageWrites: 'on', dataDirectory: DATA, ...overrides.settings},
    mounts: overrides.mounts ?? [SECRET, {type: 'volume', destination: DATA, name: VOLUME}],
    expectedVolume: VOLUME,
  }
}

describe('durability audit', () => {
  it('passes durable settings with the data directory on the named volume', () => {
    const {durability, reasons} = auditDurability(facts())
    expect(reasons).to.deep.equal([])
    expect(durability).to.deep.equal({
      fsync: 'on',
      synchronousCommit: 'on',
      fullPageWrites: 'on',
      dataDirectory: DATA,
      dataOnNamedVolume: true,
      volume: VOLUME,
      storage: `volume ${VOLUME}`,
    })
  })

  it('accepts a volume mounted above the data directory (the PostgreSQL 18 layout)', () => {
    const {reasons, durability} = auditDurability(
      facts({
        settings: {dataDirectory: '/var/lib/postgresql/18/docker'},
        mounts: [{type: 'volume', destination: '/var/lib/postgresql', name: VOLUME}],
      }),
    )
    expect(reasons).to.deep.equal([])
    expect(durability.dataOnNamedVolume).to.equal(true)
  })

  it('fails fsync=off', () => {
    const {reasons} = auditDurability(facts({settings: {fsync: 'off'}}))
    expect(reasons).to.have.length(1)
    expect(reasons[0]).to.match(/^fsync is off/)
  })

  it('fails synchronous_commit=off but accepts the values that flush locally', () => {
    expect(auditDurability(facts({settings: {synchronousCommit: 'off'}})).reasons[0]).to.match(
      /^synchronous_commit is off/,
    )
    for (const value of ['local', 'remote_write', 'remote_apply']) {
      expect(auditDurability(facts({settings: {synchronousCommit: value}})).reasons).to.deep.equal([])
    }
  })

  it('fails full_page_writes=off', () => {
    expect(auditDurability(facts({settings: {fullPageWrites: 'off'}})).reasons[0]).to.match(/^full_page_writes is off/)
  })

  it('fails a data directory on tmpfs (HostConfig.Tmpfs or a tmpfs mount) and names it', () => {
    for (const mounts of [
      [SECRET, {type: 'tmpfs', destination: DATA}],
      [SECRET, {type: 'tmpfs', destination: '/var/lib/postgresql'}],
    ]) {
      const {durability, reasons} = auditDurability(facts({mounts}))
      expect(durability.dataOnNamedVolume).to.equal(false)
      expect(durability.volume).to.equal(null)
      expect(reasons).to.have.length(1)
      expect(reasons[0]).to.include(`the data directory ${DATA} is on tmpfs`)
    }
  })

  it('lets tmpfs win when it claims the same destination as the volume', () => {
    const {reasons} = auditDurability(
      facts({
        mounts: [
          {type: 'volume', destination: DATA, name: VOLUME},
          {type: 'tmpfs', destination: `${DATA}/`},
        ],
      }),
    )
    expect(reasons[0]).to.include('tmpfs')
  })

  it('fails an anonymous volume, by label or by its generated name', () => {
    const hex = 'a'.repeat(64)
    for (const mount of [
      {type: 'volume', destination: DATA, name: hex},
      {type: 'volume', destination: DATA, name: 'whatever', anonymousLabel: true},
    ]) {
      const {durability, reasons} = auditDurability(facts({mounts: [mount]}))
      expect(durability.dataOnNamedVolume).to.equal(false)
      expect(durability.volume).to.equal(mount.name)
      expect(reasons).to.have.length(1)
      expect(reasons[0]).to.include('an anonymous volume').and.include(VOLUME)
    }
  })

  it("fails another project's named volume", () => {
    const {reasons} = auditDurability(
      facts({mounts: [{type: 'volume', destination: DATA, name: 'other_postgres_data'}]}),
    )
    expect(reasons[0]).to.include('on volume other_postgres_data, not on the stack').and.include(VOLUME)
  })

  it('fails a bind mount and names the host path', () => {
    const {reasons} = auditDurability(facts({mounts: [{type: 'bind', destination: DATA, source: '/srv/pg'}]}))
    expect(reasons[0]).to.include('bind mount of /srv/pg')
  })

  it("fails the container's own layer when nothing covers the data directory", () => {
    const {reasons, durability} = auditDurability(
      facts({mounts: [SECRET, {type: 'volume', destination: '/var/lib/postgresql/data2', name: VOLUME}]}),
    )
    expect(durability.storage).to.equal('container layer')
    expect(reasons[0]).to.include("container's own writable layer")
  })

  it('reports every problem at once', () => {
    const {reasons} = auditDurability(
      facts({settings: {fsync: 'off', synchronousCommit: 'off'}, mounts: [{type: 'tmpfs', destination: DATA}]}),
    )
    expect(reasons).to.have.length(3)
  })

  it('coveringMount picks the deepest mount and respects path boundaries', () => {
    const mounts: MountFact[] = [
      {type: 'volume', destination: '/var', name: 'a'},
      {type: 'volume', destination: '/var/lib/postgresql', name: 'b'},
      {type: 'volume', destination: '/var/lib/postgresql/da', name: 'c'},
    ]
    expect(coveringMount(DATA, mounts)?.name).to.equal('b')
    expect(coveringMount('/srv', mounts)).to.equal(undefined)
  })
})
