/** The --json contract: schemas/ matches the result types, covers every reporting command, and bites. */
import {expect} from 'chai'
import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'

import {generateSchemas, REPORTS} from '../../scripts/json-schemas.js'
import {repoRoot} from '../helpers/cli.js'
import {assertJsonContract, commandOf} from '../helpers/json-contract.js'

/** Every key of every object the schema describes that is not required (JSON would just leave it out). */
function optionalKeys(node: unknown, at = ''): string[] {
  if (Array.isArray(node)) return node.flatMap((item, i) => optionalKeys(item, `${at}[${i}]`))
  if (typeof node !== 'object' || node === null) return []
  const object = node as {properties?: Record<string, unknown>; required?: string[]}
  const own = Object.keys(object.properties ?? {})
    .filter((key) => !(object.required ?? []).includes(key))
    .map((key) => `${at}.${key}`)
  return [...own, ...Object.entries(object).flatMap(([key, value]) => optionalKeys(value, `${at}/${key}`))]
}

function commandFiles(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((entry) =>
    entry.isDirectory() ? commandFiles(path.join(dir, entry.name)) : [path.join(dir, entry.name)],
  )
}

describe('JSON schemas of the reporting commands', function () {
  this.timeout(60_000)
  const generated = generateSchemas()

  it('are what the result types say now (run npm run schemas after changing one)', () => {
    for (const [file, text] of generated) {
      expect(readFileSync(file, 'utf8'), `${path.relative(repoRoot, file)} is stale`).to.equal(text)
    }
  })

  it('cover every command that has --json', () => {
    const commandsDir = path.join(repoRoot, 'src', 'commands')
    const reporting = commandFiles(commandsDir)
      .filter((file) => readFileSync(file, 'utf8').includes('enableJsonFlag = true'))
      .map((file) => path.relative(commandsDir, file).replace(/\.ts$/, '').split(path.sep).join(' '))
    expect(reporting.length).to.be.greaterThan(10)
    expect(Object.keys(REPORTS).sort()).to.deep.equal(reporting.sort())
  })

  it('leave no key optional: what has no value is null, never absent', () => {
    for (const [file, text] of generated) {
      expect(optionalKeys(JSON.parse(text)), path.basename(file)).to.deep.equal([])
    }
  })

  describe('the check every test run of the CLI applies', () => {
    const open = {schemaVersion: 1, url: 'http://127.0.0.1:5000', opened: false, reason: 'asked to print only'}

    it('accepts a report and an error object', () => {
      expect(() => assertJsonContract('open', JSON.stringify(open))).to.not.throw()
      const error = {schemaVersion: 1, error: {message: 'Nonexistent flag: --nope', exitCode: 2, suggestion: null}}
      expect(() => assertJsonContract('status', JSON.stringify(error))).to.not.throw()
    })

    it('rejects a missing key, an extra key, a wrong type, a missing version and text that is not JSON', () => {
      const {reason: _reason, ...missing} = open
      const cases: Array<[string, RegExp]> = [
        [JSON.stringify(missing), /must have required property 'reason'/],
        [JSON.stringify({...open, extra: 1}), /must NOT have additional properties/],
        [JSON.stringify({...open, opened: 'no'}), /\/opened must be boolean/],
        [JSON.stringify({...open, schemaVersion: 2}), /\/schemaVersion must be equal to constant/],
        ['stack is up\n{}', /not one JSON value/],
        [JSON.stringify({schemaVersion: 1, error: {message: 'x', exitCode: 1}}), /required property 'suggestion'/],
      ]
      for (const [stdout, problem] of cases) expect(() => assertJsonContract('open', stdout), stdout).to.throw(problem)
    })

    it('names a command as schemas/ does', () => {
      expect(commandOf(['volume', 'restore', 'f.dump', '--force', '--json'])).to.equal('volume restore')
      expect(commandOf(['status', '--json'])).to.equal('status')
      expect(commandOf(['volume', '--json'])).to.equal('volume')
    })
  })
})
