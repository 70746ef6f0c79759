import {expect} from 'chai'

import {exposureWarnings} from '../../../../src/lib/targets/compose/exposure.js'

describe('exposure warnings', () => {
  const local = {host: '127.0.0.1', port: 5000}

  it('says nothing for a loopback-only stack without an override', () => {
    expect(exposureWarnings(local, undefined)).to.deep.equal([])
    expect(exposureWarnings({host: '::1', port: 5000}, undefined)).to.deep.equal([])
    expect(exposureWarnings({host: '127.0.0.2', port: 5000}, undefined)).to.deep.equal([])
  })

  it('warns when the API is published beyond loopback', () => {
    const [warning] = exposureWarnings({host: '0.0.0.0', port: 8080}, undefined)
    expect(warning).to.include('0.0.0.0:8080').and.include('reachable from other machines')
    expect(exposureWarnings({host: '::', port: 8080}, undefined)).to.have.length(1)
  })

  it('warns when an override publishes the database, in short or long syntax', () => {
    for (const ports of ['["5432:5432"]', '["127.0.0.1:5433:5432"]', '[{target: 5432, published: 5432}]']) {
      const warnings = exposureWarnings(local, `services:\n  db:\n    ports: ${ports}\n`)
      expect(warnings, ports).to.have.length(1)
      expect(warnings[0]).to.include('publishes the database')
    }
  })

  it('warns when an override publishes the app on every interface, not on loopback', () => {
    expect(exposureWarnings(local, 'services:\n  app:\n    ports: ["8080:5000"]\n')[0]).to.include(
      'beyond this machine',
    )
    expect(exposureWarnings(local, 'services:\n  app:\n    ports: ["127.0.0.1:8080:5000"]\n')).to.deep.equal([])
    expect(exposureWarnings(local, 'services:\n  app:\n    environment: {A: b}\n')).to.deep.equal([])
  })

  it('says when the override cannot be read instead of guessing', () => {
    expect(exposureWarnings(local, 'services: [\n')[0]).to.include('not valid YAML')
  })
})
