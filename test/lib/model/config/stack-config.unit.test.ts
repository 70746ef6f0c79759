import {expect} from 'chai'

import {
  activeVolume,
  appUrl,
  pgDataMountPath,
  rememberedSettings,
  resolveStackConfig,
  upgradedVolumeName,
  volumeName,
} from '../../../../src/lib/model/config/stack-config.js'
import {UsageError} from '../../../../src/lib/errors.js'

describe('stack configuration', () => {
  it('uses the defaults when nothing is given (a new stack: no stack.json)', () => {
    const config = resolveStackConfig({}, {}, undefined, '/work')
    expect(config).to.deep.equal({
      project: 'stackctl',
      dir: '/work/.stackctl',
      host: '127.0.0.1',
      port: 5000,
      dbPort: undefined,
      pgMajor: 17,
      imageSource: 'auto',
      timeoutSeconds: 120,
      volume: 'stackctl_postgres_data',
      walArchive: true,
      backupSchedule: {everySeconds: 86_400, fullEverySeconds: 604_800},
    })
    expect(volumeName(config.project)).to.equal('stackctl_postgres_data')
    expect(appUrl(config)).to.equal('http://127.0.0.1:5000')
  })

  it('archives the WAL by default for a new stack; one made before keeps what it has; the choice is remembered', () => {
    // A new stack (no stack.json): on unless --no-wal-archive.
    expect(resolveStackConfig({}, {}, undefined, '/w').walArchive).to.equal(true)
    expect(resolveStackConfig({walArchive: false}, {}, undefined, '/w').walArchive).to.equal(false)
    // A stack.json without the setting: made before archiving was the default, so it stays off until asked.
    expect(resolveStackConfig({}, {}, {}, '/w').walArchive).to.equal(false)
    expect(resolveStackConfig({}, {}, {project: 'old'}, '/w').walArchive).to.equal(false)
    expect(resolveStackConfig({walArchive: true}, {}, {project: 'old'}, '/w').walArchive).to.equal(true)
    // Remembered either way.
    expect(resolveStackConfig({}, {}, {project: 'new', walArchive: true}, '/w').walArchive).to.equal(true)
    expect(resolveStackConfig({}, {}, {project: 'new', walArchive: false}, '/w').walArchive).to.equal(false)
    expect(resolveStackConfig({walArchive: false}, {}, {project: 'new', walArchive: true}, '/w').walArchive).to.equal(
      false,
    )
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
    // Number() would read these as 1000, 80 and 21001: only plain decimal numbers are ports.
    [{port: '1e3'}, /invalid port '1e3'/],
    [{port: '0x50'}, /invalid port '0x50'/],
    [{port: ' 21001'}, /invalid port ' 21001'/],
    [{port: '5000.0'}, /invalid port/],
    [{host: 'abc:def'}, /invalid host address 'abc:def'/],
    [{host: ':::::'}, /invalid host address ':::::'/],
    [{host: '255.255.255.255'}, /invalid host address/],
    [{host: '239.1.1.1'}, /invalid host address/],
    [{host: '1.2.3'}, /invalid host address/],
    [{project: 'a'.repeat(300)}, /invalid project name: 300 characters, at most 48/],
    [{pgMajor: '1.7e1'}, /invalid PostgreSQL major/],
    [{timeoutSeconds: '1e2'}, /invalid timeout/],
    // 0 means "any free port" elsewhere: a URL needs a fixed one, and `none` is the way to stop publishing.
    [{dbPort: '0'}, /invalid database port '0'.*or none/],
    [{dbPort: '70000'}, /invalid database port/],
    [{dbPort: 'off'}, /invalid database port 'off'/],
    [{dbPort: '5000'}, /--db-port 5000 is the API's port/],
    [{port: '6000', dbPort: '6000'}, /--db-port 6000 is the API's port/],
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

  it('publishes the database only with --db-port, remembered until --db-port none', () => {
    expect(resolveStackConfig({dbPort: '15432'}, {}, {}, '/w').dbPort).to.equal(15432)
    expect(resolveStackConfig({}, {STACKCTL_DB_PORT: '15433'}, {dbPort: 15432}, '/w').dbPort).to.equal(15433)
    expect(resolveStackConfig({}, {}, {dbPort: 15432}, '/w').dbPort).to.equal(15432)
    expect(resolveStackConfig({dbPort: 'none'}, {}, {dbPort: 15432}, '/w').dbPort).to.equal(undefined)
    expect(resolveStackConfig({}, {STACKCTL_DB_PORT: 'none'}, {dbPort: 15432}, '/w').dbPort).to.equal(undefined)
    expect(rememberedSettings({}, {}, {dbPort: 15432})).to.deep.equal([{flag: '--db-port', value: '15432'}])
    expect(rememberedSettings({dbPort: 'none'}, {}, {dbPort: 15432})).to.deep.equal([])
  })

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

  it('accepts IPv4 and IPv6 addresses to publish on, and names the longest valid project', () => {
    expect(resolveStackConfig({host: '0.0.0.0'}, {}, {}, '/w').host).to.equal('0.0.0.0')
    expect(resolveStackConfig({host: '::1'}, {}, {}, '/w').host).to.equal('::1')
    expect(resolveStackConfig({host: '::'}, {}, {}, '/w').host).to.equal('::')
    expect(resolveStackConfig({project: 'a'.repeat(48)}, {}, {}, '/w').project).to.have.length(48)
    expect(resolveStackConfig({port: '21001', timeoutSeconds: '2.5'}, {}, {}, '/w')).to.include({
      port: 21001,
      timeoutSeconds: 2.5,
    })
  })

  it('mounts PGDATA where the official image expects it for each major', () => {
    expect(pgDataMountPath(15)).to.equal('/var/lib/postgresql/data')
    expect(pgDataMountPath(17)).to.equal('/var/lib/postgresql/data')
    expect(pgDataMountPath(18)).to.equal('/var/lib/postgresql')
  })

  it('names the settings that came from what the directory remembers, when they are not the defaults', () => {
    const remembered = {host: '0.0.0.0', port: 5000, pgMajor: 17, imageSource: 'local'}
    expect(rememberedSettings({}, {}, remembered)).to.deep.equal([
      {flag: '--host', value: '0.0.0.0'},
      {flag: '--image-source', value: 'local'},
    ])
    expect(rememberedSettings({host: '127.0.0.1'}, {STACKCTL_IMAGE_SOURCE: 'local'}, remembered)).to.deep.equal([])
  })

  it('prints a URL that opens for an API bound to every interface', () => {
    expect(appUrl({host: '0.0.0.0', port: 8080})).to.equal('http://127.0.0.1:8080')
    expect(appUrl({host: '::', port: 8080})).to.equal('http://[::1]:8080')
    expect(appUrl({host: '::1', port: 8080})).to.equal('http://[::1]:8080')
  })

  describe('the active data volume', () => {
    it('is <project>_postgres_data unless stack.json remembers the one db upgrade switched to', () => {
      expect(resolveStackConfig({}, {}, {project: 'demo'}, '/w').volume).to.equal('demo_postgres_data')
      expect(resolveStackConfig({}, {}, {project: 'demo', volume: 'demo_postgres_data_pg17'}, '/w').volume).to.equal(
        'demo_postgres_data_pg17',
      )
      expect(activeVolume('demo', 'demo_postgres_data_pg17_2')).to.equal('demo_postgres_data_pg17_2')
      expect(upgradedVolumeName('demo', 17)).to.equal('demo_postgres_data_pg17')
    })

    it("refuses a remembered volume that is not one of the project's", () => {
      for (const foreign of ['other_postgres_data', 'demo_postgres_data_x', 'demo_postgres_data_pg17; rm', '']) {
        expect(() => activeVolume('demo', foreign), foreign).to.throw(UsageError, /not a volume of project 'demo'/)
      }
    })
  })
})
