import {expect} from 'chai'

import {UsageError} from '../../../../src/lib/errors.js'
import {
  assertTarget,
  copyScript,
  initdbArgs,
  missingExtensions,
  newServerEnv,
  newVolumeDriver,
  newVolumeLabels,
  newVolumeName,
  parseAvailable,
  parseClusterSettings,
  parseInitdbArgs,
  requiredBytes,
  settingsDifferences,
  upgradeContainerName,
  visitsSince,
  COPY_HEADROOM_BYTES,
} from '../../../../src/lib/operations/upgrade/plan.js'

const utf8 = parseClusterSettings('UTF8|C.UTF-8|C.UTF-8|off')

describe('upgrade plan', () => {
  it('accepts only a newer major it has an image for, in one line with a hint', () => {
    expect(() => assertTarget(15, 17, [15, 17])).not.to.throw()
    const cases: Array<[number, RegExp]> = [
      [15, /already runs PostgreSQL 15: nothing to upgrade/],
      [13, /--to 13 is older than the PostgreSQL 15 the stack runs/],
      [16, /there is no PostgreSQL 16 image for this stack/],
    ]
    for (const [to, message] of cases) {
      expect(() => assertTarget(15, to, [15, 17]), String(to))
        .to.throw(UsageError, message)
        .with.property('exitCode', 2)
    }
    expect(() => assertTarget(17, 15, [15, 17]))
      .to.throw(UsageError)
      .with.property('suggestion', 'to go back after an upgrade, use stackctl db rollback')
  })

  it('initialises the new cluster like the old one, then adds the user’s initdb options', () => {
    expect(initdbArgs(utf8, 17)).to.deep.equal(['--encoding=UTF8', '--lc-collate=C.UTF-8', '--lc-ctype=C.UTF-8'])
    const checksums = parseClusterSettings('LATIN1|de_DE|de_DE|on')
    expect(initdbArgs(checksums, 17, ['--wal-segsize=32'])).to.deep.equal([
      '--encoding=LATIN1',
      '--lc-collate=de_DE',
      '--lc-ctype=de_DE',
      '--data-checksums',
      '--wal-segsize=32',
    ])
    // 18 turns checksums on by default: an old cluster without them gets none.
    expect(initdbArgs(utf8, 18)).to.include('--no-data-checksums')
    expect(() => initdbArgs(parseClusterSettings('UTF8|und|und|off', 'i'), 17)).to.throw(UsageError, /ICU/)
  })

  it('reads the cluster settings and names what differs in the new one', () => {
    expect(utf8).to.deep.equal({
      encoding: 'UTF8',
      collate: 'C.UTF-8',
      ctype: 'C.UTF-8',
      localeProvider: 'c',
      dataChecksums: false,
    })
    expect(() => parseClusterSettings('UTF8|C')).to.throw(UsageError, /unexpected cluster settings/)
    expect(settingsDifferences(utf8, utf8)).to.deep.equal([])
    expect(settingsDifferences(utf8, {...utf8, dataChecksums: true, collate: 'C'})).to.deep.equal([
      'collate is C instead of C.UTF-8',
      'dataChecksums is true instead of false',
    ])
    // What the user's initdb options change on purpose is expected to differ, and nothing else.
    const checksummed = {...utf8, dataChecksums: true}
    expect(settingsDifferences(utf8, checksummed, ['--data-checksums'])).to.deep.equal([])
    expect(settingsDifferences(utf8, {...checksummed, collate: 'C'}, ['--data-checksums'])).to.deep.equal([
      'collate is C instead of C.UTF-8',
    ])
    expect(settingsDifferences(utf8, {...utf8, collate: 'C', ctype: 'C'}, ['--locale=C'])).to.deep.equal([])
  })

  it('finds the extensions the new server lacks', () => {
    expect(missingExtensions(['pgcrypto', 'postgis'], ['citext', 'pgcrypto'])).to.deep.equal(['postgis'])
    expect(missingExtensions([], [])).to.deep.equal([])
  })

  it('needs room for the data plus WAL headroom, read from df', () => {
    expect(requiredBytes(1000)).to.equal(1000 + COPY_HEADROOM_BYTES)
    expect(requiredBytes(-1)).to.equal(COPY_HEADROOM_BYTES) // size unknown: at least the headroom
    expect(parseAvailable('     Avail\n16777216\n')).to.equal(16_777_216)
    expect(parseAvailable('df: /new: No such file')).to.equal(undefined)
  })

  it('names the new volume after the major, never one that is taken', () => {
    expect(newVolumeName('demo', 17, () => false)).to.equal('demo_postgres_data_pg17')
    const taken = new Set(['demo_postgres_data_pg17', 'demo_postgres_data_pg17_2'])
    expect(newVolumeName('demo', 17, (name) => taken.has(name))).to.equal('demo_postgres_data_pg17_3')
    expect(upgradeContainerName('demo', 17)).to.equal('demo-upgrade-pg17')
  })

  it('labels the new volume as the stack’s and as superseding the old one', () => {
    const labels = newVolumeLabels({
      stackId: '0123456789abcdef',
      project: 'demo',
      supersedes: 'demo_postgres_data',
      pgMajor: 17,
      at: new Date('2026-11-25T10:00:00Z'),
    })
    expect(labels).to.deep.equal({
      'io.stackctl.stack-id': '0123456789abcdef',
      'io.stackctl.project': 'demo',
      'io.stackctl.supersedes': 'demo_postgres_data',
      'io.stackctl.pg-major': '17',
      'io.stackctl.created-at': '2026-11-25T10:00:00.000Z',
      'com.docker.compose.project': 'demo',
      'com.docker.compose.volume': 'postgres_data',
    })
  })

  it('copies with the new pg_dump over the network into one transaction; the password only as a file', () => {
    const [shell, flag, script] = copyScript('db')
    expect([shell, flag]).to.deep.equal(['bash', '-c'])
    expect(script).to.include('set -euo pipefail')
    expect(script).to.include('pg_dump -h db -U postgres --no-password -d visits | psql')
    expect(script).to.include('--single-transaction')
    expect(script).to.include('ON_ERROR_STOP=1')
    expect(script).to.include('PGPASSWORD="$(cat /run/secrets/db_password)"')
    expect(newServerEnv(['--encoding=UTF8'])).to.deep.equal([
      'POSTGRES_USER=postgres',
      'POSTGRES_DB=visits',
      'POSTGRES_PASSWORD_FILE=/run/secrets/db_password',
      'POSTGRES_INITDB_ARGS=--encoding=UTF8',
    ])
  })

  it('takes initdb options, refusing what is not one', () => {
    expect(parseInitdbArgs(undefined)).to.deep.equal([])
    expect(parseInitdbArgs(' --data-checksums  --wal-segsize=32 ')).to.deep.equal([
      '--data-checksums',
      '--wal-segsize=32',
    ])
    expect(() => parseInitdbArgs('--locale=$(id)')).to.throw(UsageError, "invalid --initdb-args value '--locale=$(id)'")
    expect(() => parseInitdbArgs('data-checksums')).to.throw(UsageError)
  })

  it('counts the visits a rollback would leave behind', () => {
    expect(visitsSince(101, 101)).to.equal(0)
    expect(visitsSince(101, 150)).to.equal(49)
    expect(visitsSince(101, 90)).to.equal(0)
  })

  describe("the new volume's driver options", () => {
    const plain = {name: 'p_postgres_data', driver: 'local', options: {}}
    const bound = {name: 'p_postgres_data', driver: 'local', options: {type: 'none', o: 'bind', device: '/srv/pg15'}}

    it("takes the old volume's options, or those asked for", () => {
      expect(newVolumeDriver(plain, undefined)).to.deep.equal({driver: 'local', options: {}})
      const nfs = {name: 'v', driver: 'local', options: {type: 'nfs', o: 'addr=10.0.0.1', device: ':/export/a'}}
      expect(newVolumeDriver(nfs, {...nfs.options, device: ':/export/b'})).to.deep.equal({
        driver: 'local',
        options: {...nfs.options, device: ':/export/b'},
      })
      expect(newVolumeDriver(bound, {type: 'none', o: 'bind', device: '/srv/pg17'}).options.device).to.equal(
        '/srv/pg17',
      )
    })

    it("refuses options that mount the old volume's own storage, with a pasteable fix", () => {
      const derived = () => newVolumeDriver(bound, undefined)
      expect(derived).to.throw(
        UsageError,
        /would be the storage of p_postgres_data itself: both would mount \/srv\/pg15/,
      )
      let refusal: unknown
      try {
        derived()
      } catch (error) {
        refusal = error
      }
      {
        expect((refusal as UsageError).suggestion).to.equal(
          'give the new volume another, empty directory: mkdir /srv/pg15-upgraded, then add --volume-opt type=none --volume-opt o=bind --volume-opt device=/srv/pg15-upgraded to this command',
        )
      }
      for (const device of ['/srv/pg15', '/srv/pg15/', '/srv//pg15', '/srv/x/../pg15']) {
        expect(() => newVolumeDriver(bound, {...bound.options, device}), device).to.throw(UsageError, /itself/)
      }
    })

    it('refuses a volume in memory unless forced, and then warns', () => {
      const inMemory: Array<Record<string, string>> = [
        {type: 'tmpfs'},
        {device: 'tmpfs'},
        {type: 'none', o: 'size=1g,tmpfs'},
      ]
      for (const options of inMemory) {
        expect(() => newVolumeDriver(plain, options)).to.throw(UsageError, /in memory \(tmpfs\)/)
        const forced = newVolumeDriver(plain, options, true)
        expect(forced.options).to.deep.equal(options)
        expect(forced.warning).to.match(/would not survive a restart.*accepted with --force/)
      }
      expect(newVolumeDriver(plain, {type: 'ext4', o: 'size=1g', device: '/dev/sdb1'})).not.to.have.property('warning')
    })
  })
})
