/** The commands stackctl prints must address the same stack when pasted, from any directory. */
import {expect} from 'chai'
import path from 'node:path'

import {shellQuote, stackCommand} from '../../../../src/lib/model/config/command-line.js'

describe('printed commands (command-line)', () => {
  const cwd = '/home/dev/shop'

  it('names neither --dir nor --project-name for the default stack of the current directory', () => {
    expect(stackCommand({dir: path.join(cwd, '.stackctl'), project: 'stackctl'}, 'up', {cwd})).to.equal('stackctl up')
  })

  it('names the stack directory whenever it is not ./.stackctl of the current directory', () => {
    expect(stackCommand({dir: '/srv/stacks/ux2', project: 'stackctl'}, 'up', {cwd})).to.equal(
      'stackctl up --dir /srv/stacks/ux2',
    )
    // the same directory seen from elsewhere is not the default any more
    expect(stackCommand({dir: path.join(cwd, '.stackctl'), project: 'stackctl'}, 'up', {cwd: '/tmp'})).to.equal(
      `stackctl up --dir ${path.join(cwd, '.stackctl')}`,
    )
  })

  it('names a project that is not the default, and quotes what the shell would split', () => {
    expect(stackCommand({dir: path.join(cwd, '.stackctl'), project: 'ux2'}, 'logs app', {cwd})).to.equal(
      'stackctl logs app --project-name ux2',
    )
    expect(stackCommand({dir: "/tmp/my stack's dir", project: 'ux2'}, 'up', {cwd})).to.equal(
      `stackctl up --dir '/tmp/my stack'\\''s dir' --project-name ux2`,
    )
  })

  it('quotes only arguments the shell would split or expand', () => {
    expect(shellQuote('/tmp/a-b_c.d')).to.equal('/tmp/a-b_c.d')
    expect(shellQuote('a b')).to.equal("'a b'")
    expect(shellQuote('$HOME')).to.equal("'$HOME'")
  })
})
