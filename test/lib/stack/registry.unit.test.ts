/** The stack registry: a stack id leads back to its directory only while that directory still says so. */
import {expect} from 'chai'
import {mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {registeredStackDir, registerStack} from '../../../src/lib/stack/registry.js'

describe('stack registry (registry)', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'stackctl-registry-'))
  const env = {STACKCTL_STATE_DIR: path.join(root, 'state')}
  const stackId = '0123456789abcdef'

  function stackDir(name: string, id: string): string {
    const dir = path.join(root, name)
    mkdirSync(dir, {recursive: true})
    const settings = {project: 'p', host: '127.0.0.1', port: 5000, pgMajor: 17, imageSource: 'auto'}
    writeFileSync(path.join(dir, 'stack.json'), JSON.stringify({stackId: id, settings}))
    return dir
  }

  after(() => rmSync(root, {recursive: true, force: true}))

  it('finds the directory registered for a stack id', async () => {
    const dir = stackDir('a', stackId)
    await registerStack({stackId, project: 'p', dir}, env)
    expect(await registeredStackDir(stackId, env)).to.equal(dir)
  })

  it('does not believe an entry whose directory now holds another stack (or none)', async () => {
    const dir = stackDir('b', 'fedcba9876543210')
    await registerStack({stackId, project: 'p', dir}, env)
    expect(await registeredStackDir(stackId, env)).to.equal(undefined)
    rmSync(path.join(dir, 'stack.json'))
    expect(await registeredStackDir(stackId, env)).to.equal(undefined)
  })

  it('never follows a link in place of an entry, and never writes through one', async () => {
    const target = path.join(root, 'target.json')
    writeFileSync(target, 'untouched')
    const entry = path.join(env.STACKCTL_STATE_DIR, 'stacks', `${stackId}.json`)
    rmSync(entry, {force: true})
    symlinkSync(target, entry)
    expect(await registeredStackDir(stackId, env)).to.equal(undefined)
    await registerStack({stackId, project: 'p', dir: stackDir('c', stackId)}, env)
    expect(await registeredStackDir(stackId, env)).to.equal(undefined)
    expect((await import('node:fs')).readFileSync(target, 'utf8')).to.equal('untouched')
  })

  it('ignores ids that are not stack ids (no path is built from them)', async () => {
    expect(await registeredStackDir('../../etc/passwd', env)).to.equal(undefined)
  })
})
