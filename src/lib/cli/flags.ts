/** Flag definitions shared by the stack commands; each also reads its environment variable. */
import {Flags} from '@oclif/core'

import {DEFAULTS, ENV, IMAGE_SOURCES, type StackConfigInput} from '../model/config/stack-config.js'

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
  port: Flags.integer({
    summary: `Host port the API is published on [default: ${DEFAULTS.port}]`,
    env: ENV.port,
    min: 1,
    max: 65_535,
  }),
  'db-port': Flags.string({
    summary: `Host port PostgreSQL is published on, on 127.0.0.1 only; none stops publishing it [default: ${DEFAULTS.dbPort}]`,
    env: ENV.dbPort,
  }),
  'pg-major': Flags.integer({
    summary: `PostgreSQL major version [default: ${DEFAULTS.pgMajor}]`,
    env: ENV.pgMajor,
    min: 12,
    max: 99,
  }),
  'image-source': Flags.string({
    summary: `Where images come from [default: ${DEFAULTS.imageSource}]`,
    env: ENV.imageSource,
    options: [...IMAGE_SOURCES],
  }),
}

/** `up` only: whether the db archives its WAL (on for a new stack, off for one made before; remembered in stack.json). */
export const walArchiveFlag = {
  'wal-archive': Flags.boolean({
    allowNo: true,
    summary:
      'Archive the WAL with pgBackRest into the volume <project>_backups (default for a new stack on the local images; remembered; --no-wal-archive turns it off)',
  }),
}

/** `up` only: scheduled backups of a stack that archives its WAL (remembered in stack.json). */
export const backupScheduleFlags = {
  'backup-every': Flags.string({
    summary:
      'Take a differential pgBackRest backup once the newest backup is this old, e.g. 24h, 6h, 30m, or off (archiving stacks; remembered) [default: 24h]',
    helpValue: 'DURATION|off',
  }),
  'full-backup-every': Flags.string({
    summary:
      'Take a full backup once the newest full one is this old (the newest 2 scheduled fulls are kept) [default: 7d]',
    helpValue: 'DURATION',
  }),
}

/** How long up (and the relaunches of verify-persistence) wait for the services to become healthy. */
export const timeoutFlag = {
  timeout: Flags.integer({
    summary: `Seconds to wait for both services to become healthy [default: ${DEFAULTS.timeoutSeconds}]`,
    env: ENV.timeoutSeconds,
    min: 1,
    max: 3600,
  }),
}

/** How long commands show their progress (see cli/ui/step-display.ts). */
export const displayFlags = {
  quiet: Flags.boolean({char: 'q', summary: 'Print only the result and warnings, no steps', exclusive: ['verbose']}),
  verbose: Flags.boolean({summary: 'Also print the output of the tools stackctl runs (Compose’s progress)'}),
  color: Flags.boolean({
    allowNo: true,
    summary: 'Colour the steps (default: on a terminal, unless NO_COLOR is set); --no-color turns it off',
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
  port?: number
  'db-port'?: string
  'pg-major'?: number
  'image-source'?: string
  timeout?: number
  adopt?: boolean
  'wal-archive'?: boolean
  'backup-every'?: string
  'full-backup-every'?: string
}): StackConfigInput & {adopt?: boolean} {
  return {
    adopt: flags.adopt,
    dir: flags.dir,
    project: flags['project-name'],
    host: flags.host,
    port: flags.port,
    dbPort: flags['db-port'],
    pgMajor: flags['pg-major'],
    imageSource: flags['image-source'],
    timeoutSeconds: flags.timeout,
    walArchive: flags['wal-archive'],
    backupEvery: flags['backup-every'],
    fullBackupEvery: flags['full-backup-every'],
  }
}
