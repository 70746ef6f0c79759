import {expect} from 'chai'

import {secretName, secretVersion} from '../../../../src/lib/targets/swarm/secret.js'

describe('swarm secret versions', () => {
  const last = {secretVersion: 3, passwordSha256: 'aaa'}

  it('starts at 1 and keeps the version while the password file is the same', () => {
    expect(secretVersion(undefined, 'aaa', false)).to.deep.equal({version: 1})
    expect(secretVersion(last, 'aaa', true)).to.deep.equal({version: 3})
    expect(secretName('demo', 3)).to.equal('demo_db_password_v3')
  })

  it('gives a new file the next version only while no volume may hold data', () => {
    expect(secretVersion(last, 'bbb', false)).to.deep.equal({version: 4})
    expect(secretVersion(last, 'bbb', true)).to.deep.equal({refused: true})
  })
})
