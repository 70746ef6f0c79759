import {expect} from 'chai'

import {networkModes} from '../../../../src/lib/targets/swarm/modes.js'

describe('swarm endpoint and port modes', () => {
  it('uses VIP and the routing mesh when the kernel has IPVS', () => {
    const choice = networkModes(true)
    expect(choice.modes).to.deep.equal({endpointMode: 'vip', portMode: 'ingress'})
    expect(choice.reason).to.match(/has IPVS/)
  })

  it('falls back to dnsrr and host-mode ports without IPVS, and says why and what it costs', () => {
    const choice = networkModes(false)
    expect(choice.modes).to.deep.equal({endpointMode: 'dnsrr', portMode: 'host'})
    expect(choice.reason).to.match(/no IPVS/)
    expect(choice.reason).to.match(/one task per node/)
  })
})
