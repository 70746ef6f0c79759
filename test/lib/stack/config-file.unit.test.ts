/**
 * stackctl.yaml: what it may set (the flags' names), that flags override it and it overrides stack.json, and
 * that anything it cannot use stops the command with the file and the key.
 */
import {mkdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {expect} from 'chai'

import {StackctlError} from '../../../src/lib/errors.js'
import {parseConfigFile, readConfigFile} from '../../../src/lib/stack/config-file.js'
import {stubStack, tempRoot} from '../../support/stub-context.js'

const FILE = '/p/stackctl.yaml'

function refusal(text: string): StackctlError {
  try {
    parseConfigFile(FILE, text)
  } catch (error) {
    expect(error).to.be.instanceOf(StackctlError)
    return error as StackctlError
  }
  throw new Error(`accepted: ${text}`)
}

describe('stackctl.yaml', () => {
  it('reads the settings under the flags’ names, the dev source against the project directory', () => {
    const file = parseConfigFile(
      FILE,
      'project: shop\nport: 8080\npg-major: 15\nimage-source: local\ndev-source: api\n',
    )
    expect(file.settings).to.deep.equal({project: 'shop', port: 8080, pgMajor: 15, imageSource: 'local'})
    expect(file.devSource).to.equal('/p/api')
    expect(file.keys).to.deep.equal(['project', 'port', 'pg-major', 'image-source', 'dev-source'])
    expect(parseConfigFile(FILE, '# nothing yet\n').keys).to.deep.equal([])
  })

  it('refuses an unknown key, a bad value, a list or a file that is not a mapping, naming the file and key', () => {
    const typo = refusal('prot: 5001\n')
    expect(typo.message).to.equal(`${FILE}: unknown key 'prot'`)
    expect(typo.exitCode).to.equal(2)
    expect(typo.suggestion).to.include("did you mean 'port'?")
    const port = refusal('port: 99999\n')
    expect(port.message).to.match(/^\/p\/stackctl\.yaml: port: /)
    expect(port.suggestion).to.include(`fix port in ${FILE}`)
    expect(refusal('image-source: cloud\n').message).to.match(/^\/p\/stackctl\.yaml: image-source: /)
    expect(refusal('pg-major: [15]\n').message).to.include('pg-major must be a single value')
    expect(refusal('- port\n').message).to.include('must be a mapping')
    expect(refusal('port: [\n').message).to.include('is not valid YAML')
  })

  it('is overridden by flags and overrides what stack.json remembers; status-like commands load it', async () => {
    const root = tempRoot()
    const dir = path.join(root, '.stackctl')
    writeFileSync(path.join(root, 'stackctl.yaml'), 'port: 8080\npg-major: 15\n')
    const {ctx} = await stubStack({dir})
    expect([ctx.config.port, ctx.config.pgMajor]).to.deep.equal([8080, 15])
    expect(ctx.configFile?.keys).to.deep.equal(['port', 'pg-major'])
    const flagged = await stubStack({dir, port: 9090})
    expect(flagged.ctx.config.port).to.equal(9090)

    mkdirSync(dir)
    writeFileSync(
      path.join(dir, 'stack.json'),
      JSON.stringify({stackId: '0123456789abcdef', settings: {project: 'demo', port: 7070}}),
    )
    const remembered = await stubStack({dir})
    expect(remembered.ctx.config.port).to.equal(8080)
    // Control: without the file, stack.json's port is the one in force.
    const other = tempRoot()
    mkdirSync(path.join(other, '.stackctl'))
    writeFileSync(
      path.join(other, '.stackctl', 'stack.json'),
      JSON.stringify({stackId: '0123456789abcdef', settings: {project: 'demo', port: 7070}}),
    )
    expect((await stubStack({dir: path.join(other, '.stackctl')})).ctx.config.port).to.equal(7070)
  })

  it('a bad file stops loading the stack', async () => {
    const root = tempRoot()
    writeFileSync(path.join(root, 'stackctl.yaml'), 'prot: 5001\n')
    const error = await stubStack({dir: path.join(root, '.stackctl')}).catch((caught: unknown) => caught)
    expect(String(error)).to.include("stackctl.yaml: unknown key 'prot'")
  })

  it('is no file under a --dir whose parent is a regular file (the stack directory check names that), but a folder in its place is', async () => {
    const root = tempRoot()
    writeFileSync(path.join(root, 'a-file'), '')
    expect(await readConfigFile(path.join(root, 'a-file', 'stack'))).to.equal(undefined)
    // Control: a stackctl.yaml that cannot be read as a file is still an error.
    mkdirSync(path.join(root, 'b', 'stackctl.yaml'), {recursive: true})
    const error = await readConfigFile(path.join(root, 'b', 'stack')).catch((caught: unknown) => caught)
    expect(String(error)).to.match(/cannot read .*stackctl\.yaml/)
  })
})
