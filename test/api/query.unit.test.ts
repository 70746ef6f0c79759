import {expect} from 'chai'

import {DEFAULT_LIMIT, MAX_LIMIT, parseVisitsQuery} from '../../src/api/query.js'

const parse = (query: string) => parseVisitsQuery(new URLSearchParams(query))

describe('GET /visits query parsing', () => {
  it('defaults to the newest 50', () => {
    expect(parse('')).to.deep.equal({ok: true, value: {limit: DEFAULT_LIMIT}})
  })

  it('accepts limit 1..1000 and a positive before', () => {
    expect(parse('limit=1')).to.deep.equal({ok: true, value: {limit: 1}})
    expect(parse(`limit=${MAX_LIMIT}&before=42`)).to.deep.equal({ok: true, value: {limit: 1000, before: 42}})
    expect(parse('before=9007199254740991')).to.deep.equal({
      ok: true,
      value: {limit: 50, before: 9_007_199_254_740_991},
    })
  })

  it('ignores parameters it does not know', () => {
    expect(parse('limit=5&utm=x')).to.deep.equal({ok: true, value: {limit: 5}})
  })

  for (const query of [
    'limit=0',
    'limit=1001',
    'limit=abc',
    'limit=',
    'limit=1.5',
    'limit=1e2',
    'limit=+5',
    'limit=-1',
    'limit= 5',
    'limit=5&limit=6',
  ]) {
    it(`rejects ${query}`, () => {
      const result = parse(query)
      expect(result.ok).to.equal(false)
      expect(result)
        .to.have.property('error')
        .that.matches(/^limit /)
    })
  }

  for (const query of ['before=0', 'before=-1', 'before=x', 'before=9007199254740992', 'before=99999999999999999999']) {
    it(`rejects ${query}`, () => {
      expect(parse(query)).to.deep.equal({ok: false, error: 'before must be a positive integer'})
    })
  }
})
