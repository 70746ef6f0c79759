import {expect} from 'chai'

import {stackFlags} from '../../../src/lib/cli/flags.js'
import {splitPassthroughArgv} from '../../../src/lib/cli/passthrough-argv.js'

describe('splitPassthroughArgv with a leading positional (stackctl exec SERVICE CMD…)', () => {
  const split = (...argv: string[]) => splitPassthroughArgv(argv, stackFlags, {ownPositionals: 1})

  it('keeps SERVICE and stackctl’s flags before CMD, and CMD exactly as typed after --', () => {
    expect(split('db', '--', 'psql', '-U', 'postgres', '-c', 'select 1')).to.deep.equal({
      own: ['db'],
      rest: ['psql', '-U', 'postgres', '-c', 'select 1'],
    })
    expect(split('--dir', '/s', 'app', '-p', 'demo', '--', 'sh', '-c', 'exit 7')).to.deep.equal({
      own: ['--dir', '/s', 'app', '-p', 'demo'],
      rest: ['sh', '-c', 'exit 7'],
    })
    expect(split('-pdemo', 'db', '--dir=/s', '--')).to.deep.equal({own: ['-pdemo', 'db', '--dir=/s'], rest: []})
  })

  it('gives CMD everything from its first word on, stackctl’s flag names included (docker exec’s rule)', () => {
    expect(split('app', 'ls', '-p', '--dir', '/x', '--', 'y')).to.deep.equal({
      own: ['app'],
      rest: ['ls', '-p', '--dir', '/x', '--', 'y'],
    })
    // The same words before SERVICE are stackctl's (negative control for the rule above).
    expect(split('-p', 'demo', 'app', 'ls')).to.deep.equal({own: ['-p', 'demo', 'app'], rest: ['ls']})
  })

  it('leaves nothing for CMD when none is given (the shell at a terminal)', () => {
    expect(split('db')).to.deep.equal({own: ['db'], rest: []})
    expect(split('db', '--')).to.deep.equal({own: ['db'], rest: []})
  })
})
