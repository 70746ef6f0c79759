/**
 * The new major's server during an upgrade: a container of the new image on the new volume, on the stack's
 * network (so it reaches the old server as `db`), with the password as the same mounted file. It is temporary:
 * removed when the copy is proven, or when anything fails.
 */
import createDebug from 'debug'

import {DB_NAME, DB_SECRET, DB_USER, pgDataMountPath, secretMountPath} from '../../model/config/stack-config.js'
import {Psql} from '../db/psql.js'
import type {Engine} from '../../engine/engine.js'
import {Interrupted, StackctlError} from '../../errors.js'
import {failed, ready, waitUntil, waiting} from '../../engine/wait/wait-until.js'
import {newServerEnv, UPGRADE_ROLE_LABEL} from './plan.js'

const debug = createDebug('stackctl:upgrade')

export interface NewServerSpec {
  name: string
  image: string
  /** Its major: where the volume is mounted follows it (the official image moved PGDATA in 18). */
  pgMajor: number
  volume: string
  network: string
  passwordFile: string
  initdb: string[]
  labels: Record<string, string>
  timeoutSeconds: number
  signal?: AbortSignal
}

export interface NewServer {
  id: string
  name: string
  psql: Psql
}

/** Starts the server and waits until it answers over TCP, as the stack's health check does. */
export async function startNewServer(engine: Engine, spec: NewServerSpec): Promise<NewServer> {
  const id = await engine.containers.start({
    name: spec.name,
    image: spec.image,
    env: newServerEnv(spec.initdb),
    labels: {...spec.labels, [UPGRADE_ROLE_LABEL]: 'upgrade'},
    volumes: {[spec.volume]: pgDataMountPath(spec.pgMajor)},
    readOnlyFiles: {[spec.passwordFile]: secretMountPath(DB_SECRET.name)},
    network: spec.network,
    shmSizeBytes: 128 * 1024 * 1024,
  })
  const server = {id, name: spec.name, psql: new Psql(engine, id)}
  const outcome = await waitUntil(
    async () => {
      const details = await engine.containers.inspect(id)
      if (!details?.running) return failed(details)
      // The server may stop between the inspection and the probe: the next look reports why.
      const answer = await engine.containers
        .exec(id, ['pg_isready', '-q', '-h', '127.0.0.1', '-U', DB_USER, '-d', DB_NAME])
        .catch(() => ({exitCode: -1}))
      return answer.exitCode === 0 ? ready(server) : waiting(details)
    },
    {timeoutMs: spec.timeoutSeconds * 1000, intervalMs: 500, signal: spec.signal, describe: `${spec.name} answers`},
  )
  if (outcome.state === 'ready') return outcome.value
  if (outcome.state === 'aborted') throw new Interrupted('the new server was starting')
  if (outcome.state === 'timed-out') {
    throw new StackctlError(`the new server did not answer within ${spec.timeoutSeconds} s`, {
      suggestion: 'pass a longer --timeout',
    })
  }
  const details = outcome.last
  const log = details ? await engine.containers.logTail(id, 5).catch(() => '') : ''
  const line = lastMeaningfulLine(log)
  throw new StackctlError(
    `the new server did not start (exit ${details?.exitCode ?? 'unknown'}): ${line || 'no message'}`,
    {
      suggestion: FOUND_DATA.test(line)
        ? `${spec.volume} already held a data directory, which db upgrade never writes over; give the new volume storage of its own (--volume-opt)`
        : 'check --initdb-args and the image (stackctl images build)',
    },
  )
}

/** What PostgreSQL says when it finds a data directory it did not expect in the volume. */
const FOUND_DATA = /database files are incompatible|directory .* exists but is not empty|already exists/i

/** The error line of a failed start: initdb's or the entrypoint's last words. */
export function lastMeaningfulLine(log: string): string {
  const lines = log
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
  return lines.findLast((line) => /error|fatal|invalid|unrecognized/i.test(line)) ?? lines.at(-1) ?? ''
}

/** Removes the server's container (and so stops anything still running in it); already gone is fine. */
export async function removeNewServer(engine: Engine, id: string): Promise<void> {
  debug('removing the new server %s', id.slice(0, 12))
  await engine.containers.remove(id)
}
