import {expect} from 'chai'

import {asFailure} from '../../../src/lib/cli/base-command.js'
import {StackctlError, UsageError} from '../../../src/lib/errors.js'

describe('how failures are reported', () => {
  it('keeps stackctl’s own errors as they are', () => {
    const own = new UsageError('bad port', 'try --port 5000')
    expect(asFailure(own, 'up')).to.equal(own)
  })

  it('turns oclif’s flag errors into usage errors (exit 2) pointing at the command’s help', () => {
    const parse = Object.assign(new Error('Nonexistent flag: --nope\nSee more help with --help'), {oclif: {exit: 2}})
    const failure = asFailure(parse, 'volume:inspect')
    expect(failure).to.include({message: 'Nonexistent flag: --nope', exitCode: 2})
    expect(failure.suggestion).to.equal('see stackctl volume inspect --help')
    const value = Object.assign(
      new Error('Parsing --port \n\tExpected an integer but received: 1e3\nSee more help with --help'),
      {
        oclif: {exit: 2},
      },
    )
    expect(asFailure(value, 'up').message).to.equal('Parsing --port: Expected an integer but received: 1e3')
  })

  it('offers the closest flag for a mistyped one, and none when nothing is close', () => {
    const typo = Object.assign(new Error('Nonexistent flag: --prot\nSee more help with --help'), {oclif: {exit: 2}})
    const flags = ['port', 'project-name', 'pg-major', 'host', 'mode']
    expect(asFailure(typo, 'up', flags).suggestion).to.equal('did you mean --port? see stackctl up --help')
    const two = Object.assign(new Error('Nonexistent flag: --nope\nSee more help with --help'), {oclif: {exit: 2}})
    expect(asFailure(two, 'up', flags).suggestion, 'two edits from --mode is no typo').to.equal(
      'see stackctl up --help',
    )
    const far = Object.assign(new Error('Nonexistent flag: --zzzzzz\nSee more help with --help'), {oclif: {exit: 2}})
    expect(asFailure(far, 'up', flags).suggestion).to.equal('see stackctl up --help')
  })

  it('reports anything else as a failure (exit 1) with its first line, never a stack', () => {
    const failure = asFailure(new TypeError('x is undefined\n    at somewhere (file.js:1:1)'), 'up')
    expect(failure).to.be.instanceOf(StackctlError)
    expect(failure).to.include({message: 'x is undefined', exitCode: 1})
    expect(failure.suggestion).to.include('DEBUG=stackctl:*')
  })
})
