import {expect} from 'chai'

import {plural} from '../../../../src/lib/cli/ui/plural.js'

describe('plural', () => {
  it('writes one in the singular and every other count in the plural', () => {
    expect(plural(1, 'visit')).to.equal('1 visit')
    expect(plural(0, 'visit')).to.equal('0 visits')
    expect(plural(1_000_000, 'visit')).to.equal('1000000 visits')
    expect(plural(2, 'entry', 'entries')).to.equal('2 entries')
  })
})
