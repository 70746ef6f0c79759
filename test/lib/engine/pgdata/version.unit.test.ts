import {expect} from 'chai'

import {
  dataDirInVolume,
  isCompatible,
  majorFromVersionNum,
  parsePgVersionFile,
  parsePgVersionListing,
  pgVersionCandidates,
} from '../../../../src/lib/engine/pgdata/version.js'

describe('PostgreSQL data versions', () => {
  describe('PG_VERSION', () => {
    it('parses majors from 10 on and the two-part ones before', () => {
      expect(parsePgVersionFile('17\n')).to.equal(17)
      expect(parsePgVersionFile(' 15 ')).to.equal(15)
      expect(parsePgVersionFile('9.6\n')).to.equal(9.6)
      expect(parsePgVersionFile('')).to.equal(undefined)
      expect(parsePgVersionFile('17.2')).to.equal(undefined)
      expect(parsePgVersionFile('9')).to.equal(undefined)
      expect(parsePgVersionFile('seventeen')).to.equal(undefined)
    })

    it('looks at the root and at <major>/docker for 18 and later', () => {
      expect(pgVersionCandidates('/v', 17)).to.deep.equal(['/v/PG_VERSION', '/v/18/docker/PG_VERSION'])
      expect(pgVersionCandidates('/v', 19)).to.deep.equal([
        '/v/PG_VERSION',
        '/v/18/docker/PG_VERSION',
        '/v/19/docker/PG_VERSION',
      ])
      expect(dataDirInVolume(17)).to.equal('')
      expect(dataDirInVolume(18)).to.equal('18/docker')
    })

    it('parses grep -H output and prefers the root-level marker', () => {
      expect(parsePgVersionListing('/v/PG_VERSION:17\n', '/v')).to.deep.equal({major: 17, dataDir: ''})
      expect(parsePgVersionListing('/v/18/docker/PG_VERSION:18\n', '/v')).to.deep.equal({
        major: 18,
        dataDir: '18/docker',
      })
      expect(parsePgVersionListing('/v/18/docker/PG_VERSION:18\n/v/PG_VERSION:15\n', '/v')).to.deep.equal({
        major: 15,
        dataDir: '',
      })
      expect(parsePgVersionListing('', '/v')).to.equal(undefined)
      expect(parsePgVersionListing('/v/PG_VERSION:garbage\n', '/v')).to.equal(undefined)
    })

    it('is compatible only with the same major in the layout that major uses', () => {
      expect(isCompatible({major: 17, dataDir: ''}, 17)).to.equal(true)
      expect(isCompatible({major: 15, dataDir: ''}, 17)).to.equal(false)
      expect(isCompatible({major: 18, dataDir: '18/docker'}, 18)).to.equal(true)
      expect(isCompatible({major: 18, dataDir: ''}, 18)).to.equal(false)
      expect(isCompatible({major: 18, dataDir: '18/docker'}, 17)).to.equal(false)
      expect(isCompatible(undefined, 17)).to.equal(true)
    })
  })

  it('turns server_version_num into a major', () => {
    expect(majorFromVersionNum('170005\n')).to.equal(17)
    expect(majorFromVersionNum('180000')).to.equal(18)
    expect(majorFromVersionNum('90624')).to.equal(9.6)
    expect(majorFromVersionNum('')).to.equal(undefined)
  })
})
