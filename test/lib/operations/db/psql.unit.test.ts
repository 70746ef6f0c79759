import {expect} from 'chai'

import {splitPsqlArgv} from '../../../../src/lib/operations/db/psql.js'
import {stackFlags} from '../../../../src/lib/cli/flags.js'

describe('splitPsqlArgv', () => {
  const split = (...argv: string[]) => splitPsqlArgv(argv, stackFlags)

  it('passes everything after the first -- to psql exactly as typed', () => {
    expect(split('--', '-c', 'SELECT 1', '-c', 'SELECT 2')).to.deep.equal({
      own: [],
      psql: ['-c', 'SELECT 1', '-c', 'SELECT 2'],
    })
    expect(split('--dir', '/s', '--', '--dir', '-p', '--', 'it\'s "quoted"')).to.deep.equal({
      own: ['--dir', '/s'],
      psql: ['--dir', '-p', '--', 'it\'s "quoted"'],
    })
  })

  it('takes psql arguments without --, keeping stackctl’s own flags in any spelling', () => {
    expect(split('-c', 'SELECT 1')).to.deep.equal({own: [], psql: ['-c', 'SELECT 1']})
    expect(split('-p', 'demo', '-c', 'SELECT 1', '--dir=/s', '-A', '-t')).to.deep.equal({
      own: ['-p', 'demo', '--dir=/s'],
      psql: ['-c', 'SELECT 1', '-A', '-t'],
    })
    expect(split('-pdemo', '--project-name=x', '--dir', '/s')).to.deep.equal({
      own: ['-pdemo', '--project-name=x', '--dir', '/s'],
      psql: [],
    })
  })

  it('never takes the value of a psql option for a stackctl flag', () => {
    expect(split('-c', '--dir', '--set', '-p', '-v', 'x=1')).to.deep.equal({
      own: [],
      psql: ['-c', '--dir', '--set', '-p', '-v', 'x=1'],
    })
    expect(split('-c', '--', '-p', 'demo')).to.deep.equal({own: ['-p', 'demo'], psql: ['-c', '--']})
  })

  it('leaves flags it does not know to psql', () => {
    expect(split('--dirx', '-x', '--echo-all')).to.deep.equal({own: [], psql: ['--dirx', '-x', '--echo-all']})
  })
})
