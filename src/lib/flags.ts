/** Flag definitions shared by the stack commands; each also reads its environment variable. */
import {Flags} from '@oclif/core'

import {DEFAULTS, ENV, IMAGE_SOURCES, type StackConfigInput} from './config/stack-config.js'

export const stackFlags = {
  dir: Flags.string({
    summary: `Stack directory holding the rendered files and the password [default: ${DEFAULTS.dir}]`,
    env: ENV.dir,
  }),
  'project-name': Flags.string({
    char: 'p',
    summary: `Compose project name; the data volume is <project>_postgres_data [default: ${DEFAULTS.project}]`,
    env: ENV.project,
  }),
}

export const configFlags = {
  ...stackFlags,
  host: Flags.string({summary: `Host address the API is published on [default: ${DEFAULTS.host}]`, env: ENV.host}),
  port: Flags.string({summary: `Host port the API is published on [default: ${DEFAULTS.port}]`, env: ENV.port}),
  'pg-major': Flags.string({summary: `PostgreSQL major version [default: ${DEFAULTS.pgMajor}]`, env: ENV.pgMajor}),
  'image-source': Flags.string({
    summary: `Where images come from: ${IMAGE_SOURCES.join(', ')} [default: ${DEFAULTS.imageSource}]`,
    env: ENV.imageSource,
  }),
}

/** For the commands that change a stack: the one explicit way to act on what stackctl did not create. */
export const adoptFlag = {
  adopt: Flags.boolean({
    summary:
      'Take over a Compose project or data volume that stackctl did not create, or re-attach a stack directory whose stack.json was lost',
  }),
}

/** Flag values → configuration input; validation happens in resolveStackConfig. */
export function configInput(flags: {
  dir?: string
  'project-name'?: string
  host?: string
  port?: string
  'pg-major'?: string
  'image-source'?: string
  timeout?: string
  adopt?: boolean
}): StackConfigInput & {adopt?: boolean} {
  return {
    adopt: flags.adopt,
    dir: flags.dir,
    project: flags['project-name'],
    host: flags.host,
    port: flags.port,
    pgMajor: flags['pg-major'],
    imageSource: flags['image-source'],
    timeoutSeconds: flags.timeout,
  }
}
