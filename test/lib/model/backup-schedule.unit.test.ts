import {expect} from 'chai'

import {UsageError} from '../../../src/lib/errors.js'
import {
  describeSchedule,
  formatDuration,
  parseDuration,
  resolveBackupSchedule,
} from '../../../src/lib/model/backup-schedule.js'

function refusal(every: string | undefined, full: string | undefined): UsageError {
  try {
    resolveBackupSchedule(every, full)
  } catch (error) {
    expect(error).to.be.instanceOf(UsageError)
    return error as UsageError
  }
  throw new Error(`--backup-every ${every} --full-backup-every ${full} was accepted`)
}

describe('backup schedule (model)', () => {
  it('defaults to a diff a day and a full a week', () => {
    expect(resolveBackupSchedule(undefined, undefined)).to.deep.equal({everySeconds: 86_400, fullEverySeconds: 604_800})
    expect(describeSchedule(resolveBackupSchedule(undefined, undefined)!)).to.equal(
      'diff every 1d, full every 7d, the newest 2 scheduled fulls kept',
    )
  })

  it('reads s, m, h and d, and writes durations back in the largest exact unit', () => {
    expect([parseDuration('45s'), parseDuration('30m'), parseDuration('6h'), parseDuration('2d')]).to.deep.equal([
      45, 1800, 21_600, 172_800,
    ])
    expect([formatDuration(86_400), formatDuration(5400), formatDuration(45), formatDuration(7200)]).to.deep.equal([
      '1d',
      '90m',
      '45s',
      '2h',
    ])
    for (const bad of ['', '10', 'h', '1.5h', '-1h', '10 x', '1w', '10S'])
      expect(parseDuration(bad), bad).to.equal(undefined)
  })

  it('turns the schedule off with --backup-every off', () => {
    expect(resolveBackupSchedule('off', undefined)).to.equal(undefined)
    expect(resolveBackupSchedule('off', '7d')).to.equal(undefined)
  })

  it('refuses bad values in one line with a hint that works as printed', () => {
    const bad = refusal('1x', undefined)
    expect(bad.message).to.equal("invalid --backup-every '1x': expected a number and a unit (s, m, h or d)")
    expect(bad.suggestion).to.equal('e.g. --backup-every 24h, or --backup-every off')
    expect(refusal('5s', undefined).message).to.equal('--backup-every 5s is too short (at least 10s)')
    const shorter = refusal('1d', '6h')
    expect(shorter.message).to.equal('--full-backup-every 6h is shorter than --backup-every 1d')
    // The hint's values are accepted (the control: they must not be refused in their turn).
    const [, every, full] = /--backup-every (\S+) --full-backup-every (\S+)/.exec(shorter.suggestion!)!
    expect(resolveBackupSchedule(every, full)).to.deep.equal({everySeconds: 86_400, fullEverySeconds: 604_800})
    expect(refusal('off', '1d').message).to.equal('--full-backup-every 1d has no effect with --backup-every off')
  })
})

describe('backup schedule (stack settings)', () => {
  it('remembers the cadences, and --backup-every off alone drops the remembered full one', async () => {
    const {resolveStackConfig} = await import('../../../src/lib/model/config/stack-config.js')
    const saved = {project: 'demo', backupEvery: '10s', fullBackupEvery: '1h'}
    expect(resolveStackConfig({}, {}, saved, '/w').backupSchedule).to.deep.equal({
      everySeconds: 10,
      fullEverySeconds: 3600,
    })
    expect(resolveStackConfig({backupEvery: 'off'}, {}, saved, '/w').backupSchedule).to.equal(undefined)
    // Typed together, they contradict each other: refused.
    expect(() => resolveStackConfig({backupEvery: 'off', fullBackupEvery: '1h'}, {}, saved, '/w')).to.throw(
      '--full-backup-every 1h has no effect with --backup-every off',
    )
  })
})
