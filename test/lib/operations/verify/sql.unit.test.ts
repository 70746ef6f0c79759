import {expect} from 'chai'

import {
  RANGES_PER_QUERY,
  idRanges,
  missingIdsQuery,
  parseIds,
  parseSettings,
  parseSnapshot,
  snapshotQuery,
} from '../../../../src/lib/operations/verify/sql.js'

describe('persistence SQL', () => {
  describe('snapshotQuery', () => {
    it('hashes whole rows in id order, over every row or up to an id', () => {
      expect(snapshotQuery()).to.include("string_agg(v::text, ',' ORDER BY v.id)").and.not.include('WHERE')
      expect(snapshotQuery(105)).to.match(/WHERE v\.id <= 105$/)
    })

    it('refuses anything but an integer bound', () => {
      expect(() => snapshotQuery(1.5)).to.throw(TypeError)
      expect(() => snapshotQuery(Number.NaN)).to.throw(TypeError)
    })
  })

  describe('parseSnapshot', () => {
    it('reads count, highest id and checksum', () => {
      expect(parseSnapshot('105|105|0123456789abcdef0123456789abcdef\n')).to.deep.equal({
        total: 105,
        maxId: 105,
        checksum: '0123456789abcdef0123456789abcdef',
      })
    })

    it('reads an empty table', () => {
      expect(parseSnapshot('0|0|d41d8cd98f00b204e9800998ecf8427e')).to.deep.equal({
        total: 0,
        maxId: 0,
        checksum: 'd41d8cd98f00b204e9800998ecf8427e',
      })
    })

    it('rejects anything else', () => {
      expect(() => parseSnapshot('')).to.throw('unexpected snapshot')
      expect(() => parseSnapshot('ERROR: relation "visits" does not exist')).to.throw('unexpected snapshot')
    })
  })

  describe('idRanges', () => {
    it('sorts, de-duplicates and joins consecutive ids', () => {
      expect(idRanges([7, 3, 1, 2, 3, 9, 8, 12])).to.deep.equal([
        [1, 3],
        [7, 9],
        [12, 12],
      ])
    })

    it('gives nothing for no ids', () => {
      expect(idRanges([])).to.deep.equal([])
    })
  })

  describe('missingIdsQuery', () => {
    it('expands the ranges on the server and keeps the ids the table lacks', () => {
      const sql = missingIdsQuery([
        [1, 3],
        [7, 7],
      ])
      expect(sql).to.include('(VALUES (1::bigint, 3::bigint), (7::bigint, 7::bigint))')
      expect(sql).to.include('generate_series(r.lo, r.hi)')
      expect(sql).to.include('NOT EXISTS (SELECT 1 FROM visits AS v WHERE v.id = i)')
    })

    it('stays far below the 128 KiB limit of one exec argument even for scattered ids', () => {
      const worst = Array.from(
        {length: RANGES_PER_QUERY},
        (_, i) => [1_000_000_000 + 2 * i, 1_000_000_000 + 2 * i] as [number, number],
      )
      expect(Buffer.byteLength(missingIdsQuery(worst))).to.be.below(128 * 1024)
    })
  })

  it('parseIds reads one id a line and rejects junk', () => {
    expect(parseIds('3\n17\n\n')).to.deep.equal([3, 17])
    expect(parseIds('')).to.deep.equal([])
    expect(() => parseIds('3\nabc')).to.throw('unexpected id')
  })

  it('parseSettings reads the four durability facts', () => {
    expect(parseSettings('on|on|on|/var/lib/postgresql/data\n')).to.deep.equal({
      fsync: 'on',
      synchronousCommit: 'on',
      fullPageWrites: 'on',
      dataDirectory: '/var/lib/postgresql/data',
    })
    expect(() => parseSettings('on|on')).to.throw('unexpected settings')
  })
})
