import {expect} from 'chai'

import {appUrl, pgDataMountPath, resolveStackConfig, volumeName} from '../../../src/lib/config/stack-config.js'
import {UsageError} from '../../../src/lib/errors.js'

describe('stack configuration', () => {
  it('uses the defaults when nothing is given', () => {
    const config = resolveStackConfig({}, {}, {}, '/work')
    expect(config).to.deep.equal({
      project: 'stackctl',
      dir: '/work/.stackctl',
      host: '127.0.0.1',
      port: 5000,
      pgMajor: 17,
      imageSource: 'auto',
      timeoutSeconds: 120,
    })
    expect(volumeName(config.project)).to.equal('stackctl_postgres_data')
    expect(appUrl(config)).to.equal('http://127.0.0.1:5000')
  })

  it('lets flags win over the environment, and the environment over remembered settings', () => {
    const env = {STACKCTL_PORT: '6000', STACKCTL_PROJECT: 'fromenv', STACKCTL_DIR: 'envdir'}
    const remembered = {port: 7000, project: 'remembered', pgMajor: 16}
    const config = resolveStackConfig({port: '8000'}, env, remembered, '/w')
    expect(config.port).to.equal(8000)
    expect(config.project).to.equal('fromenv')
    expect(config.pgMajor).to.equal(16)
    expect(config.dir).to.equal('/w/envdir')
  })

  for (const [input, pattern] of [
    [{port: '0'}, /invalid port '0'/],
    [{port: '65536'}, /invalid port/],
    [{port: 'abc'}, /invalid port 'abc'/],
    [{project: 'My Stack'}, /invalid project name 'My Stack'/],
    [{project: '-x'}, /invalid project name/],
    [{imageSource: 'docker-hub'}, /unknown image source 'docker-hub'/],
    [{pgMajor: 'seventeen'}, /invalid PostgreSQL major/],
    [{timeoutSeconds: '-5'}, /invalid timeout/],
    [{host: 'example.com'}, /invalid host address/],
  ] as const) {
    it(`rejects ${JSON.stringify(input)} with a usage error and a suggestion`, () => {
      let caught: unknown
      try {
        resolveStackConfig(input, {}, {}, '/w')
      } catch (error) {
        caught = error
      }
      expect(caught).to.be.instanceOf(UsageError)
      expect((caught as UsageError).message).to.match(pattern)
      expect((caught as UsageError).exitCode).to.equal(2)
      expect((caught as UsageError).suggestion).to.be.a('string').and.not.be.empty
    })
  }

  it('rejects a bad value that comes from the environment too', () => {
    expect(() => resolveStackConfig({}, {STACKCTL_PORT: '99999'}, {}, '/w')).to.throw(UsageError, /invalid port/)
  })

  it('suggests a valid project name', () => {
    try {
      resolveStackConfig({project: 'My Stack'}, {}, {}, '/w')
      expect.fail('should have thrown')
    } catch (error) {
      expect((error as UsageError).suggestion).to.equal('try --project-name my-stack')
    }
  })

  it('mounts PGDATA where the official image expects it for each major', () => {
    expect(pgDataMountPath(17)).to.equal('/var/lib/postgresql/data')
    expect(pgDataMountPath(18)).to.equal('/var/lib/postgresql')
  })
})
