/**
 * Entry point of the API bundle (dist/api/server.mjs): `node server.mjs` serves, `node server.mjs
 * healthcheck` probes a running instance. Configuration comes from the environment only.
 */
import {readFileSync} from 'node:fs'

import {startApi} from './app.js'
import {ConfigError, describeConfig, parseConfig, parsePort, type ApiConfig} from './config.js'
import {probeHealth} from './healthcheck.js'
import {errorFields, jsonLogger as logger} from './log.js'

/** Below Docker's default 10 s stop timeout, so the process ends by itself rather than by SIGKILL. */
const SHUTDOWN_DEADLINE_MS = 8000

function loadConfig(): ApiConfig {
  try {
    return parseConfig(process.env, (file) => readFileSync(file, 'utf8'))
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    logger.error(`invalid configuration: ${error.message}`)
    process.exit(1)
  }
}

async function healthcheck(): Promise<never> {
  let port: number
  try {
    port = parsePort('PORT', process.env.PORT || '5000')
  } catch (error) {
    logger.error(`invalid configuration: ${(error as Error).message}`)
    process.exit(1)
  }
  const health = await probeHealth(port)
  if (health.healthy) process.exit(0)
  // The engine records what the probe printed: that is all `docker inspect` shows of a failed check.
  process.stdout.write(`${health.reason}\n`, () => process.exit(1))
  return new Promise<never>(() => {})
}

async function serve(): Promise<void> {
  const config = loadConfig()
  const abort = new AbortController()
  logger.info('starting', describeConfig(config))
  const starting = startApi(config, {logger, signal: abort.signal})
  let stopping = false

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    logger.info('stopping', {signal})
    setTimeout(() => {
      logger.error(`still busy after ${SHUTDOWN_DEADLINE_MS} ms, exiting anyway`)
      process.exit(1)
    }, SHUTDOWN_DEADLINE_MS).unref()
    // Still waiting for the database: give up (startApi then closes what it opened and rejects).
    abort.abort()
    starting
      .then(
        (api) => api.stop(),
        () => undefined,
      )
      .then(
        () => {
          logger.info('stopped')
          process.exit(0)
        },
        (error: unknown) => {
          logger.error('stop failed', errorFields(error))
          process.exit(1)
        },
      )
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)

  try {
    await starting
  } catch (error) {
    if (stopping) return
    logger.error('start failed', errorFields(error, {stack: true}))
    process.exit(1)
  }
}

process.on('uncaughtException', (error) => {
  logger.error('uncaught exception', errorFields(error, {stack: true}))
  process.exit(1)
})
process.on('unhandledRejection', (error) => {
  logger.error('unhandled rejection', errorFields(error, {stack: true}))
  process.exit(1)
})

await (process.argv[2] === 'healthcheck' ? healthcheck() : serve())
