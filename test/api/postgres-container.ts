/**
 * A throwaway PostgreSQL container for the API's integration tests: unique name, registered with the
 * caller's Cleanup, port 5432 published on 127.0.0.1 at a fixed free host port (so it stays the same across
 * a stop and start).
 */
import {randomBytes} from 'node:crypto'

import pg from 'pg'

import type {DbConfig} from '../../src/api/config.js'
import {freePort} from '../helpers/cli.js'
import {type Cleanup, docker, uniqueName} from '../helpers/docker.js'

export const POSTGRES_IMAGE = process.env.STACKCTL_TEST_POSTGRES_IMAGE ?? 'stackctl/postgres:17'

export interface TestPostgres {
  name: string
  db: DbConfig
  /** Starts it again after `docker stop`, and waits until it answers. */
  restart(): Promise<void>
}

/** Waits until a TCP connection from the host can run a query. */
export async function waitForPostgres(db: DbConfig, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const client = new pg.Client({...db, connectionTimeoutMillis: 2000})
    client.on('error', () => {})
    try {
      await client.connect()
      await client.query('SELECT 1')
      return
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 300))
    } finally {
      await client.end().catch(() => {})
    }
  }
}

export async function startPostgres(cleanup: Cleanup, options: {network?: string} = {}): Promise<TestPostgres> {
  const name = cleanup.container(uniqueName('api-pg'))
  const port = await freePort()
  const db: DbConfig = {
    host: '127.0.0.1',
    port,
    user: 'postgres',
    database: 'visits',
    password: randomBytes(12).toString('hex'),
  }
  const container = await docker.createContainer({
    name,
    Image: POSTGRES_IMAGE,
    Env: [`POSTGRES_PASSWORD=${db.password}`, `POSTGRES_DB=${db.database}`],
    ExposedPorts: {'5432/tcp': {}},
    HostConfig: {
      PortBindings: {'5432/tcp': [{HostIp: '127.0.0.1', HostPort: String(port)}]},
      NetworkMode: options.network,
    },
  })
  await container.start()
  await waitForPostgres(db)
  return {
    name,
    db,
    async restart() {
      await container.start()
      await waitForPostgres(db)
    },
  }
}
