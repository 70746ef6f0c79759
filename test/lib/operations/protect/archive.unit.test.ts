/**
 * Whose `<project>_backups` volume the WAL archive may use: the one `up` created for this stack, or one the user
 * adopted (--adopt, remembered in stack.json). A volume of that name from anyone else is refused, not written to.
 */
import {expect} from 'chai'
import {mkdir, readFile} from 'node:fs/promises'

import {EnvironmentError} from '../../../../src/lib/errors.js'
import {
  archiveFollows,
  DB_FACTS_SQL,
  ensureBackupsVolume,
  parseDbFacts,
  RUNNING_CLUSTER_SQL,
  WAKE_ARCHIVE_TIMEOUT_SQL,
} from '../../../../src/lib/operations/protect/archive.js'
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

describe('archiveFollows: when the stanza moves to the running cluster (pgBackRest stanza-upgrade)', () => {
  const on15 = {
    pgVersion: '15',
    systemId: '74',
    history: [{id: 1, version: '15', systemId: '74'}],
  }
  const on17 = {
    pgVersion: '17',
    systemId: '75',
    history: [...on15.history, {id: 2, version: '17', systemId: '75'}],
  }

  it('the cluster the stanza archives: nothing to do', () => {
    expect(archiveFollows(on15, {major: 15, systemId: '74'}, false)).to.equal('same')
  })

  it('the new major db upgrade switched the stack to: follow', () => {
    expect(archiveFollows(on15, {major: 17, systemId: '75'}, true)).to.equal('follow')
  })

  it('back to a cluster the archive held (db rollback, an upgrade switching back): follow', () => {
    expect(archiveFollows(on17, {major: 15, systemId: '74'}, false)).to.equal('follow')
  })

  it('another cluster stackctl did not switch to (a fresh one after down --volumes) is never followed', () => {
    expect(archiveFollows(on15, {major: 15, systemId: '99'}, false)).to.equal('foreign')
    // Not even one of a new major, unless db upgrade switched to it.
    expect(archiveFollows(on15, {major: 17, systemId: '99'}, false)).to.equal('foreign')
    // Nor a same-major cluster on a volume an upgrade made: only a new major is the upgrade's.
    expect(archiveFollows(on15, {major: 15, systemId: '99'}, true)).to.equal('foreign')
  })
})

describe("up's one question to the ready db (DB_FACTS_SQL)", () => {
  it('wakes archive_timeout with the same expression, and reads archive_mode and the running cluster', () => {
    expect(DB_FACTS_SQL).to.include(WAKE_ARCHIVE_TIMEOUT_SQL.replace(/^SELECT /, ''))
    expect(DB_FACTS_SQL).to.include("current_setting('archive_mode')")
    expect(DB_FACTS_SQL).to.include('system_identifier').and.include('FROM pg_control_system()')
    expect(RUNNING_CLUSTER_SQL).to.include("current_setting('server_version_num')::int / 10000")
  })

  it('reads psql’s row whether or not the reload was sent', () => {
    expect(parseDbFacts('t|on|17|7716331308641533984')).to.deep.equal({
      archiveMode: 'on',
      running: {major: 17, systemId: '7716331308641533984'},
    })
    expect(parseDbFacts('f|off|15|42')).to.deep.equal({archiveMode: 'off', running: {major: 15, systemId: '42'}})
  })

  it('negative control: no answer or another shape is no facts (up then asks as before)', () => {
    for (const answer of [undefined, '', 'on', 't|on|17', 't|on|x|1', 't|on|17|1|extra', 't||17|1']) {
      expect(parseDbFacts(answer), String(answer)).to.equal(undefined)
    }
  })
})
