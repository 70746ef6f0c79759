/**
 * The --json contract, checked on every run of the CLI in the tests: whatever a command prints with --json
 * must be one JSON value that its schema in schemas/ accepts (the error schema for a failure).
 */
import {Ajv, type ValidateFunction} from 'ajv'
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const schemasDir = fileURLToPath(new URL('../../schemas/', import.meta.url))
const TOPICS = new Set(['volume', 'images', 'db', 'swarm', 'snapshot'])
const ajv = new Ajv({allErrors: true, strict: false})
const compiled = new Map<string, ValidateFunction>()

/** The command id as schemas/ names it: `volume restore` from `volume restore FILE --force`. */
export function commandOf(args: readonly string[]): string {
  return TOPICS.has(args[0]) && args[1] && !args[1].startsWith('-') ? `${args[0]} ${args[1]}` : args[0]
}

function validator(name: string): ValidateFunction {
  let validate = compiled.get(name)
  if (!validate) {
    const file = path.join(schemasDir, `${name.replaceAll(' ', '-')}.json`)
    validate = ajv.compile(JSON.parse(readFileSync(file, 'utf8')))
    compiled.set(name, validate)
  }
  return validate
}

/** Throws, saying what is wrong, unless `stdout` is what `command --json` may print. */
export function assertJsonContract(command: string, stdout: string): void {
  let value: unknown
  try {
    value = JSON.parse(stdout)
  } catch {
    throw new Error(
      `stackctl ${command} --json printed something that is not one JSON value:\n${stdout.slice(0, 2000)}`,
    )
  }
  const failure = typeof value === 'object' && value !== null && 'error' in value
  const validate = validator(failure ? 'error' : command)
  if (!validate(value)) {
    const problems = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ')
    throw new Error(
      `stackctl ${command} --json does not match schemas/${failure ? 'error' : command}.json: ${problems}`,
    )
  }
}
