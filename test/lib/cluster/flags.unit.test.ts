import {expect} from 'chai'

import {assertSwarmFlagsFit, givenSwarmFlags} from '../../../src/lib/cluster/flags.js'
import {UsageError} from '../../../src/lib/errors.js'

describe('swarm flags with another target', () => {
  const names = ['replicas', 'db-node', 'registry']

  it('refuses each swarm flag given without --target swarm, naming them all', () => {
    expect(() => assertSwarmFlagsFit('compose', {replicas: 3, registry: 'r:5000'}, names)).to.throw(
      UsageError,
      '--replicas, --registry only apply to --target swarm',
    )
  })

  it('accepts them with --target swarm, and no swarm flag with another target (the controls)', () => {
    expect(() => assertSwarmFlagsFit('swarm', {replicas: 3, 'db-node': 'n2'}, names)).not.to.throw()
    expect(() => assertSwarmFlagsFit('compose', {replicas: undefined, port: 8080}, names)).not.to.throw()
    expect(givenSwarmFlags({replicas: 3, 'db-node': undefined}, names)).to.deep.equal(['--replicas'])
  })
})
