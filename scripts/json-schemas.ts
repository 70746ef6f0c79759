/**
 * The JSON contract of every reporting command: a JSON Schema per command, generated from the TypeScript type
 * its `--json` prints, kept in schemas/ and compared with a fresh generation by the tests (so a changed
 * result type cannot ship without its schema). `npm run schemas` rewrites them after a deliberate change.
 */
import {writeFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {createGenerator, type Config} from 'ts-json-schema-generator'

import {JSON_SCHEMA_VERSION as SCHEMA_VERSION, jsonSchemaVersion} from '../src/lib/cli/base-command.js'

const root = fileURLToPath(new URL('../', import.meta.url))

/** Each reporting command (its id, as typed) and the type its --json prints, with the file that declares it. */
export const REPORTS: Record<string, {file: string; type: string}> = {
  up: {file: 'src/lib/targets/target.ts', type: 'UpReport'},
  down: {file: 'src/commands/down.ts', type: 'DownReport'},
  status: {file: 'src/lib/targets/target.ts', type: 'StatusReport'},
  stop: {file: 'src/lib/targets/compose/lifecycle.ts', type: 'LifecycleResult'},
  start: {file: 'src/lib/targets/compose/lifecycle.ts', type: 'LifecycleResult'},
  restart: {file: 'src/lib/targets/compose/lifecycle.ts', type: 'LifecycleResult'},
  open: {file: 'src/lib/targets/compose/open.ts', type: 'OpenResult'},
  ls: {file: 'src/commands/ls.ts', type: 'LsResult'},
  describe: {file: 'src/lib/operations/describe/describe.ts', type: 'DescribeReport'},
  doctor: {file: 'src/lib/operations/doctor/checks.ts', type: 'DoctorReport'},
  render: {file: 'src/lib/targets/target.ts', type: 'RenderReport'},
  'verify-persistence': {file: 'src/lib/targets/target.ts', type: 'VerifyReport'},
  'volume inspect': {file: 'src/lib/targets/target.ts', type: 'VolumeInspectReport'},
  'volume backup': {file: 'src/lib/operations/backup-restore/backup.ts', type: 'BackupResult'},
  'volume restore': {file: 'src/lib/operations/backup-restore/restore.ts', type: 'RestoreResult'},
  'images build': {file: 'src/lib/engine/images/builder.ts', type: 'BuildImagesResult'},
  'swarm up': {file: 'src/commands/swarm/up.ts', type: 'SwarmUpReport'},
  'swarm down': {file: 'src/commands/swarm/down.ts', type: 'SwarmDownReport'},
  'swarm status': {file: 'src/commands/swarm/status.ts', type: 'SwarmStatusReport'},
  'db upgrade': {file: 'src/lib/operations/upgrade/upgrade.ts', type: 'UpgradeResult'},
  'db rollback': {file: 'src/lib/operations/upgrade/rollback.ts', type: 'RollbackResult'},
  'db prune-old': {file: 'src/lib/operations/upgrade/prune.ts', type: 'PruneResult'},
  'db restore': {file: 'src/lib/operations/protect/restore.ts', type: 'DbRestoreResult'},
  'db switchover': {file: 'src/lib/targets/swarm/ha/switchover.ts', type: 'SwitchoverReport'},
  'db failover': {file: 'src/lib/targets/swarm/ha/manual-failover.ts', type: 'FailoverReport'},
  'db url': {file: 'src/lib/targets/compose/db-url.ts', type: 'DbUrlResult'},
  'db export': {file: 'src/lib/operations/backup-restore/sql-export.ts', type: 'ExportResult'},
  'db import': {file: 'src/lib/operations/backup-restore/sql-import.ts', type: 'ImportResult'},
  'snapshot create': {file: 'src/lib/operations/protect/snapshot-run.ts', type: 'SnapshotCreateResult'},
  'snapshot list': {file: 'src/lib/operations/protect/snapshot-run.ts', type: 'SnapshotListResult'},
  'snapshot restore': {file: 'src/lib/operations/protect/snapshot-run.ts', type: 'SnapshotRestoreResult'},
  'snapshot delete': {file: 'src/lib/operations/protect/snapshot-run.ts', type: 'SnapshotDeleteResult'},
  version: {file: 'src/commands/version.ts', type: 'VersionResult'},
}

export function schemaFile(command: string): string {
  return path.join(root, 'schemas', `${command.replaceAll(' ', '-')}.json`)
}

/** The error object every command prints with --json when it fails (base-command.ts). */
function errorSchema(): object {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'stackctl error',
    type: 'object',
    additionalProperties: false,
    required: ['schemaVersion', 'error'],
    properties: {
      schemaVersion: {const: SCHEMA_VERSION},
      error: {
        type: 'object',
        additionalProperties: false,
        required: ['message', 'exitCode', 'suggestion'],
        properties: {
          message: {type: 'string'},
          exitCode: {type: 'integer', minimum: 1},
          suggestion: {type: ['string', 'null']},
        },
      },
    },
  }
}

interface ObjectSchema {
  $ref?: string
  properties?: Record<string, unknown>
  required?: string[]
  anyOf?: ObjectSchema[]
}

/** What --json prints: the result with the schema version first (base-command.ts adds it), in each variant. */
function withVersion(schema: ObjectSchema, version: number): ObjectSchema {
  if (schema.anyOf) return {...schema, anyOf: schema.anyOf.map((variant) => withVersion(variant, version))}
  if (schema.properties?.schemaVersion) {
    throw new Error('a result type has a schemaVersion of its own: rename it, the key is the JSON report’s version')
  }
  return {
    ...schema,
    properties: {schemaVersion: {const: version}, ...schema.properties},
    required: ['schemaVersion', ...(schema.required ?? [])],
  }
}

/** Every schema, by file name, as it would be written now. */
export function generateSchemas(): Map<string, string> {
  const config: Config = {
    tsconfig: path.join(root, 'tsconfig.json'),
    skipTypeCheck: true,
    additionalProperties: false,
    expose: 'none',
    topRef: false,
    jsDoc: 'basic',
  }
  const out = new Map<string, string>()
  // One program over every declaring file: building a TypeScript program is the slow part.
  const files = [...new Set(Object.values(REPORTS).map(({file}) => file))]
  const generator = createGenerator({...config, path: `${root}{${files.join(',')}}`})
  for (const [command, {type}] of Object.entries(REPORTS)) {
    const body = generator.createSchema(type) as ObjectSchema
    delete body.$ref
    const schema = {
      $schema: 'http://json-schema.org/draft-07/schema#',
      title: `stackctl ${command} --json`,
      ...withVersion(body, jsonSchemaVersion(command)),
    }
    out.set(schemaFile(command), `${JSON.stringify(schema, null, 2)}\n`)
  }
  out.set(path.join(root, 'schemas', 'error.json'), `${JSON.stringify(errorSchema(), null, 2)}\n`)
  return out
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const [file, text] of generateSchemas()) {
    writeFileSync(file, text)
    console.log(`wrote ${path.relative(root, file)}`)
  }
}
