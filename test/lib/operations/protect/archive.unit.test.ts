/**
 * Whose `<project>_backups` volume the WAL archive may use: the one `up` created for this stack, or one the user
 * adopted (--adopt, remembered in stack.json). A volume of that name from anyone else is refused, not written to.
 */
import {expect} from 'chai'
import {mkdir, readFile} from 'node:fs/promises'

import {EnvironmentError} from '../../../../src/lib/errors.js'
import {ensureBackupsVolume} from '../../../../src/lib/operations/protect/archive.js'
import type {StackState} from '../../../../src/lib/model/stackdir/stack-files.js'
import {stubStack} from '../../../support/stub-context.js'
import {rejection} from '../../../support/rejection.js'

const NAME = 'demo_backups'

async function stack(options: {adopt?: boolean; existing?: Record<string, string>} = {}) {
  const s = await stubStack({adopt: options.adopt})
  // As after `up`'s render: the stack directory and its id exist before the volume is looked at.
  await mkdir(s.ctx.paths.dir, {recursive: true})
  s.ctx.state = {...s.ctx.state, stackId: 'own-id'} as StackState
  if (options.existing) await s.engine.volumes.create({name: NAME, labels: options.existing})
  return s
}

describe('ensureBackupsVolume: the WAL archive only in a volume this stack created or the user adopted', () => {
  it('creates the volume with the stack id, and takes it again on the next up', async () => {
    const s = await stack()
    expect(await ensureBackupsVolume(s.ctx)).to.equal('created')
    expect((await s.engine.volumes.inspect(NAME))?.labels).to.include({'io.stackctl.stack-id': 'own-id'})
    expect(await ensureBackupsVolume(s.ctx)).to.equal('present')
  })

  it('refuses a volume of that name it did not create (no stack id), with a hint to adopt it, and records nothing', async () => {
    const s = await stack({existing: {'io.stackctl.project': 'demo', 'io.stackctl.volume-role': 'backups'}})
    const error = await rejection(ensureBackupsVolume(s.ctx), EnvironmentError)
    expect(error.message).to.equal(
      `volume ${NAME} exists and was not created by this stack (no io.stackctl stack id): stackctl keeps its WAL archive only in a volume it created or you adopted`,
    )
    expect(error.suggestion).to.match(/; to keep the archive in it, stackctl up --adopt --dir \S+ --project-name demo$/)
    expect(s.ctx.state?.adopted?.backups).to.equal(undefined)
  })

  it("refuses another stack's backups volume without --adopt (negative control: the same volume with --adopt is taken)", async () => {
    const labels = {'io.stackctl.stack-id': 'other-id'}
    const refused = await stack({existing: labels})
    expect((await rejection(ensureBackupsVolume(refused.ctx), EnvironmentError)).message).to.match(
      /another stack \(stack id other-id\)/,
    )
    const adopted = await stack({adopt: true, existing: labels})
    expect(await ensureBackupsVolume(adopted.ctx)).to.equal('present')
  })

  it('with --adopt takes it and remembers it in stack.json, so later runs take it without --adopt', async () => {
    const s = await stack({adopt: true, existing: {}})
    expect(await ensureBackupsVolume(s.ctx)).to.equal('present')
    expect(s.progress).to.include(`adopting: volume ${NAME} as the WAL archive's repository`)
    const written = JSON.parse(await readFile(s.ctx.paths.stateFile, 'utf8')) as StackState
    expect(written.adopted?.backups).to.equal(NAME)
    s.ctx.adopt = false
    expect(await ensureBackupsVolume(s.ctx)).to.equal('present')
  })
})
