/** What `up` says about WAL archiving: on by default, off with the registry images, opt-in for older stacks. */
import {expect} from 'chai'

import {archiveChoice, type ArchiveHistory} from '../../../../src/lib/operations/protect/choice.js'

const local = {source: 'local' as const, postgres: 'stackctl/postgres:17'}
const registry = {source: 'registry' as const, postgres: 'postgres:17'}
const history = (had: boolean | undefined, fresh = false): ArchiveHistory => ({
  had,
  fresh,
  optIn: 'stackctl up --wal-archive --dir /s --project-name demo',
  backupsVolume: 'demo_backups',
})

describe('archiveChoice: whether the db archives its WAL, and the one line up says', () => {
  it('a new stack on the local images archives, silently', () => {
    expect(archiveChoice(true, local, history(undefined, true))).to.deep.equal({on: true})
  })

  it('the registry images cannot archive: off, and said so with the way to archive', () => {
    const choice = archiveChoice(true, registry, history(undefined, true))
    expect(choice.on).to.equal(false)
    expect(choice.note).to.equal(
      'WAL archiving is off: postgres:17 has no pgBackRest (the local images do); use --image-source local to archive',
    )
  })

  it('a stack made before archiving was the default stays off and is told once how to opt in, as printed', () => {
    const choice = archiveChoice(false, local, history(undefined))
    expect(choice.on).to.equal(false)
    expect(choice.note).to.equal(
      'WAL archiving stays off for this stack, made before it was on by default: stackctl up --wal-archive --dir /s --project-name demo turns it on (its db is recreated with archiving on, into the volume demo_backups, and a first full backup is taken)',
    )
    // Once: the render records the choice (off), and a stack that chose off hears nothing more.
    expect(archiveChoice(false, local, history(false))).to.deep.equal({on: false})
    expect(archiveChoice(false, local, history(undefined, true))).to.deep.equal({on: false})
  })

  it('opting in on a stack that did not archive says what it changes; one that archived already says nothing', () => {
    expect(archiveChoice(true, local, history(false)).note).to.equal(
      'turning WAL archiving on: the db is recreated with archive_mode on, its WAL goes into the volume demo_backups from now on, and a first full backup is taken',
    )
    expect(archiveChoice(true, local, history(undefined)).on).to.equal(true)
    expect(archiveChoice(true, local, history(true))).to.deep.equal({on: true})
  })
})
