import {expect} from 'chai'

import {textTable} from '../../../../src/lib/cli/ui/table.js'

describe('textTable', () => {
  it('pads each column to its widest cell, two spaces apart, no trailing blanks', () => {
    expect(
      textTable(
        ['NAME', 'STATE'],
        [
          ['a-long-name', 'running'],
          ['b', 'stopped'],
        ],
      ),
    ).to.deep.equal(['NAME         STATE', 'a-long-name  running', 'b            stopped'])
  })

  it('a header alone when there are no rows; a missing cell prints as empty', () => {
    expect(textTable(['A', 'BB'], [])).to.deep.equal(['A  BB'])
    expect(textTable(['A', 'BB'], [['x']])).to.deep.equal(['A  BB', 'x'])
  })
})
