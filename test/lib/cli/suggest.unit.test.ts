/** "Did you mean …?": which commands a typo is close to. */
import {expect} from 'chai'

import {editDistance, suggestCommands} from '../../../src/lib/cli/suggest.js'

const COMMANDS = ['up', 'down', 'status', 'logs', 'ls', 'open', 'psql', 'doctor', 'volume inspect', 'volume backup']

describe('command suggestions', () => {
  it('counts a swap of neighbours as one edit', () => {
    expect(editDistance('stauts', 'status')).to.equal(1)
    expect(editDistance('status', 'status')).to.equal(0)
    expect(editDistance('', 'up')).to.equal(2)
    expect(editDistance('kitten', 'sitting')).to.equal(3)
  })

  it('suggests the closest commands, topics included', () => {
    expect(suggestCommands('stauts', COMMANDS)).to.deep.equal(['status'])
    expect(suggestCommands('volume inspcet', COMMANDS)).to.deep.equal(['volume inspect'])
    expect(suggestCommands('doctr', COMMANDS)).to.deep.equal(['doctor'])
    expect(suggestCommands('lg', COMMANDS)).to.deep.equal(['ls'])
  })

  it('suggests nothing for a word that is no typo of a command', () => {
    expect(suggestCommands('deploy', COMMANDS)).to.deep.equal([])
    expect(suggestCommands('kubernetes', COMMANDS)).to.deep.equal([])
  })
})
