import {expect} from 'chai'
import {mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {
  ConfigError,
  DEFAULT_MESSAGE,
  describeConfig,
  parseConfig,
  passwordSource,
  type Env,
} from '../../src/api/config.js'

const noFiles = (file: string): string => {
  throw Object.assign(new Error(`ENOENT: ${file}`), {code: 'ENOENT'})
}
const files = (contents: Record<string, string>) => (file: string) => contents[file] ?? noFiles(file)

describe('api configuration', () => {
  it('uses the official postgres image defaults', () => {
    expect(parseConfig({POSTGRES_PASSWORD: 'pw'}, noFiles)).to.deep.equal({
      host: '0.0.0.0',
      port: 5000,
      message: DEFAULT_MESSAGE,
      stack: null,
      db: {host: 'db', port: 5432, user: 'postgres', database: 'postgres', password: 'pw'},
    })
  })

  it('reads the stack it serves from STACKCTL_STACK, and refuses one that could not be a header value', () => {
    expect(parseConfig({POSTGRES_PASSWORD: 'pw', STACKCTL_STACK: 'a1b2-c3'}, noFiles).stack).to.equal('a1b2-c3')
    expect(() => parseConfig({POSTGRES_PASSWORD: 'pw', STACKCTL_STACK: 'x\r\nSet-Cookie: y'}, noFiles)).to.throw(
      'STACKCTL_STACK must be 1-128 letters',
    )
  })

  it('reads every variable, and the database name defaults to the user', () => {
    const env: Env = {
      POSTGRES_HOST: '10.0.0.7',
      POSTGRES_PORT: '6543',
      POSTGRES_USER: 'tracker',
      POSTGRES_PASSWORD: 'pw',
      PORT: '8080',
      HOST: '127.0.0.1',
      APP_MESSAGE: 'hi',
    }
    const config = parseConfig(env, noFiles)
    expect(config).to.deep.include({host: '127.0.0.1', port: 8080, message: 'hi'})
    expect(config.db).to.deep.equal({
      host: '10.0.0.7',
      port: 6543,
      user: 'tracker',
      database: 'tracker',
      password: 'pw',
    })
    expect(parseConfig({...env, POSTGRES_DB: 'visits'}, noFiles).db.database).to.equal('visits')
  })

  it('prefers the password file and drops its trailing newlines only', () => {
    const read = files({'/run/secrets/pw': ' s3cret \n\n'})
    const env = {POSTGRES_PASSWORD: 'ignored', POSTGRES_PASSWORD_FILE: '/run/secrets/pw'}
    expect(parseConfig(env, read).db.password).to.equal(' s3cret ')
    expect(
      parseConfig({POSTGRES_PASSWORD_FILE: '/run/secrets/pw'}, files({'/run/secrets/pw': 'a\r\n'})).db.password,
    ).to.equal('a')
  })

  it('remembers the password file, and a password given directly stays a plain value', () => {
    const env = {POSTGRES_PASSWORD_FILE: '/run/secrets/pw'}
    const db = parseConfig(env, files({'/run/secrets/pw': 'a\n'})).db
    expect(db).to.include({password: 'a', passwordFile: '/run/secrets/pw'})
    expect(parseConfig({POSTGRES_PASSWORD: 'pw'}, noFiles).db).to.not.have.property('passwordFile')
    expect(passwordSource(parseConfig({POSTGRES_PASSWORD: 'pw'}, noFiles).db, (f) => readFile(f, 'utf8'))).to.equal(
      'pw',
    )
  })

  it('reads the password file again for every connection, keeping the last good one while it is unreadable', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'stackctl-api-pw-'))
    try {
      const file = path.join(dir, 'db_password')
      writeFileSync(file, 'wrong\n')
      const config = parseConfig({POSTGRES_PASSWORD_FILE: file}, (f) => readFileSync(f, 'utf8'))
      const source = passwordSource(config.db, (f) => readFile(f, 'utf8'))
      expect(source).to.be.a('function')
      const password = source as () => Promise<string>
      expect(await password()).to.equal('wrong')
      writeFileSync(file, 'fixed\n')
      expect(await password()).to.equal('fixed')
      writeFileSync(file, '\n') // half-written, or emptied while being replaced
      expect(await password()).to.equal('fixed')
      unlinkSync(file)
      expect(await password()).to.equal('fixed')
      writeFileSync(file, 'rotated')
      expect(await password()).to.equal('rotated')
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('treats empty variables as unset', () => {
    const config = parseConfig(
      {POSTGRES_PASSWORD: 'pw', POSTGRES_HOST: '', PORT: '', POSTGRES_PASSWORD_FILE: ''},
      noFiles,
    )
    expect(config.db.host).to.equal('db')
    expect(config.port).to.equal(5000)
  })

  for (const [env, pattern] of [
    [{}, /set POSTGRES_PASSWORD_FILE or POSTGRES_PASSWORD/],
    [{POSTGRES_PASSWORD_FILE: '/missing'}, /POSTGRES_PASSWORD_FILE \/missing cannot be read \(ENOENT\)/],
    [{POSTGRES_PASSWORD_FILE: '/empty'}, /POSTGRES_PASSWORD_FILE \/empty is empty/],
    [{PORT: '0'}, /PORT must be a port number 1-65535, got '0'/],
    [{PORT: '65536'}, /PORT must be a port number/],
    [{PORT: '50.5'}, /PORT must be a port number/],
    [{POSTGRES_PORT: 'abc'}, /POSTGRES_PORT must be a port number 1-65535, got 'abc'/],
    [{POSTGRES_HOST: 'db host'}, /POSTGRES_HOST must be a host name/],
    [{POSTGRES_USER: 'u'.repeat(64)}, /POSTGRES_USER must be at most 63 bytes/],
    [{POSTGRES_DB: 'd\0b'}, /POSTGRES_DB must be at most 63 bytes without NUL/],
    [{APP_MESSAGE: 'x'.repeat(501)}, /APP_MESSAGE must be at most 500 characters/],
  ] as Array<[Env, RegExp]>) {
    it(`rejects ${JSON.stringify(env).slice(0, 60)}`, () => {
      const withPassword =
        'POSTGRES_PASSWORD_FILE' in env || Object.keys(env).length === 0 ? {} : {POSTGRES_PASSWORD: 'pw'}
      expect(() => parseConfig({...withPassword, ...env}, files({'/empty': '\n'})))
        .to.throw(ConfigError)
        .with.property('message')
        .that.matches(pattern)
    })
  }

  it('never puts the password in an error or in the loggable description', () => {
    const config = parseConfig({POSTGRES_PASSWORD: 'topsecret'}, noFiles)
    expect(JSON.stringify(describeConfig(config))).not.to.include('topsecret')
    const fromFile = parseConfig({POSTGRES_PASSWORD_FILE: '/pw'}, files({'/pw': 'topsecret'}))
    expect(JSON.stringify(describeConfig(fromFile)))
      .to.include('/pw')
      .and.not.include('topsecret')
    expect(() => parseConfig({POSTGRES_PASSWORD: 'topsecret', PORT: 'x'}, noFiles))
      .to.throw(ConfigError)
      .with.property('message')
      .that.does.not.include('topsecret')
  })
})
