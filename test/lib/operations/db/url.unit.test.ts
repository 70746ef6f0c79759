import {expect} from 'chai'

import {databaseUrl, publishedDbAddress, publishedDbUrl} from '../../../../src/lib/operations/db/url.js'

describe('database URL', () => {
  it('names user, host, port and database, and the password only when given, encoded for a URL', () => {
    expect(databaseUrl({host: '127.0.0.1', port: 15432})).to.equal('postgres://postgres@127.0.0.1:15432/visits')
    expect(databaseUrl({host: '127.0.0.1', port: 15432}, 'a/b:c@d%')).to.equal(
      'postgres://postgres:a%2Fb%3Ac%40d%25@127.0.0.1:15432/visits',
    )
    expect(new URL(databaseUrl({host: '::1', port: 5432}, 'p w')).password).to.equal('p%20w')
    expect(databaseUrl({host: '::1', port: 5432})).to.equal('postgres://postgres@[::1]:5432/visits')
  })

  it('reads the published PostgreSQL port of a db container, IPv4 first, a wildcard on loopback', () => {
    expect(
      publishedDbAddress([
        {hostIp: '::', hostPort: 15432, containerPort: 5432},
        {hostIp: '0.0.0.0', hostPort: 15432, containerPort: 5432},
      ]),
    ).to.deep.equal({host: '127.0.0.1', port: 15432})
    expect(publishedDbAddress([{hostIp: '127.0.0.1', hostPort: 6543, containerPort: 5432}])).to.deep.equal({
      host: '127.0.0.1',
      port: 6543,
    })
    // Negative controls: an exposed but unpublished port, another container port, no container.
    expect(publishedDbAddress([{containerPort: 5432}])).to.equal(undefined)
    expect(publishedDbAddress([{hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80}])).to.equal(undefined)
    expect(publishedDbUrl(undefined)).to.equal(null)
    expect(publishedDbUrl({ports: [{hostIp: '127.0.0.1', hostPort: 6543, containerPort: 5432}]})).to.equal(
      'postgres://postgres@127.0.0.1:6543/visits',
    )
  })
})
