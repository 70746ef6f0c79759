import {expect} from 'chai'

import {healthzReason} from '../../src/api/healthz-protocol.js'

describe('api/healthz-protocol: the reason a failed /healthz gives', () => {
  it('reads the reason from the body, tolerating a body that is not JSON', () => {
    expect(healthzReason(503, '{"reason":"authentication failed (28P01)"}')).to.equal(
      'db unavailable: authentication failed (28P01)',
    )
    expect(healthzReason(503, 'Service Unavailable')).to.equal('db unavailable: no reason given')
    expect(healthzReason(404, '')).to.equal('/healthz answered HTTP 404')
    expect(healthzReason(undefined, '')).to.equal('/healthz answered HTTP ?')
  })
})
