/**
 * The API against a real PostgreSQL started with a password file that holds the wrong password: it keeps
 * waiting (authentication failures are retried), and once the file is fixed it connects without a restart.
 */
import {expect} from 'chai'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {startApi, type RunningApi} from '../../src/api/app.js'
import {parseConfig} from '../../src/api/config.js'
import type {LogFields, Logger} from '../../src/api/log.js'
import {Cleanup} from '../helpers/docker.js'
import {startPostgres, type TestPostgres} from './postgres-container.js'

describe('API password file (integration)', function () {
  this.timeout(120_000)
  const cleanup = new Cleanup()
  const dir = mkdtempSync(path.join(tmpdir(), 'stackctl-api-secret-'))
  const file = path.join(dir, 'db_password')
  let postgres: TestPostgres
  let api: RunningApi | undefined

  before(async () => {
    postgres = await startPostgres(cleanup)
  })

  after(async () => {
    await api?.stop().catch(() => {})
    await cleanup.run()
    rmSync(dir, {recursive: true, force: true})
  })

  it('retries an authentication failure and connects once the file holds the right password', async () => {
    writeFileSync(file, 'not the password\n', {mode: 0o600})
    const retries: LogFields[] = []
    const logger: Logger = {
      info: () => {},
      error: (msg, fields = {}) => void (msg.includes('retrying') && retries.push(fields)),
    }
    const config = parseConfig(
      {
        HOST: '127.0.0.1',
        PORT: '5000',
        POSTGRES_HOST: postgres.db.host,
        POSTGRES_PORT: String(postgres.db.port),
        POSTGRES_DB: postgres.db.database,
        POSTGRES_PASSWORD_FILE: file,
      },
      (name) => readFileSync(name, 'utf8'),
    )
    let started = false
    const starting = startApi({...config, port: 0}, {logger, backoff: {initialMs: 50, maxMs: 200}}).then((running) => {
      started = true
      api = running
      return running
    })

    const deadline = Date.now() + 20_000
    while (retries.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    expect(retries.length).to.be.at.least(3)
    expect(retries[0]).to.include({code: '28P01'}) // invalid_password
    expect(started, 'started with a wrong password').to.equal(false)

    writeFileSync(file, `${postgres.db.password}\n`)
    const running = await starting
    const health = await fetch(`${running.url}/healthz`)
    expect(health.status).to.equal(200)
    expect((await fetch(`${running.url}/`)).status).to.equal(200)
  })
})
