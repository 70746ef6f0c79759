import {expect} from 'chai'

import {formatDuration, renderReport, verdict} from '../../../../src/lib/operations/verify/report.js'
import type {PersistenceResult} from '../../../../src/lib/operations/verify/result.js'

const PASSED: PersistenceResult = {
  passed: true,
  mode: 'down',
  project: 'demo',
  visitsRequested: 100,
  concurrency: 8,
  attempted: 100,
  acknowledged: 100,
  baseline: 5,
  before: 105,
  after: 105,
  missing: [],
  missingCount: 0,
  checksumBefore: '0123456789abcdef0123456789abcdef',
  checksumAfter: '0123456789abcdef0123456789abcdef',
  durability: {
    fsync: 'on',
    synchronousCommit: 'on',
    fullPageWrites: 'on',
    dataDirectory: '/var/lib/postgresql/data',
    dataOnNamedVolume: true,
    volume: 'demo_postgres_data',
    storage: 'volume demo_postgres_data',
  },
  kill: null,
  volume: {
    name: 'demo_postgres_data',
    createdAtBefore: '2025-01-01T10:00:00Z',
    createdAtAfter: '2025-01-01T10:00:09Z',
    removedDuringCheck: false,
    systemIdentifierBefore: '7312345678901234567',
    systemIdentifierAfter: '7312345678901234567',
  },
  phases: [
    {name: 'prepare', ms: 12, ok: true},
    {name: 'relaunch', ms: 4321, ok: true},
  ],
  reasons: [],
  aborted: null,
  stack: {foundRunning: true, leftRunning: true},
  swarm: null,
}

describe('persistence report', () => {
  it('formats durations', () => {
    expect(formatDuration(12)).to.equal('12 ms')
    expect(formatDuration(4321)).to.equal('4.32 s')
  })

  it('renders phases, numbers, the audit and one verdict line last', () => {
    const lines = renderReport(PASSED)
    expect(lines[0]).to.match(/^phase\s+time\s+outcome$/)
    expect(lines).to.include('relaunch    4.32 s      ok')
    expect(lines.join('\n')).to.include('100 requested, 100 attempted, 100 acknowledged (8 clients)')
    expect(lines.join('\n')).to.include(
      '5 before the writes, 105 before teardown, 105 after the relaunch; 0 acknowledged missing',
    )
    expect(lines.join('\n')).to.include('(unchanged)')
    expect(lines.join('\n')).to.include('/var/lib/postgresql/data on volume demo_postgres_data')
    expect(lines.join('\n')).to.include(
      'volume      demo_postgres_data kept (never removed), same database cluster (system identifier 7312345678901234567)',
    )
    expect(lines.at(-1)).to.match(/^PASSED: all 100 acknowledged visits survived compose down/)
  })

  it('lists the problems and the missing ids when it failed', () => {
    const failed: PersistenceResult = {
      ...PASSED,
      passed: false,
      mode: 'kill',
      after: 103,
      missing: [101, 102],
      missingCount: 2,
      checksumAfter: 'ffffffffffffffffffffffffffffffff',
      kill: {acknowledgedBeforeKill: 50, inFlightAtKill: 16, failedAfterKill: 12, dbExitCode: 137},
      phases: [{name: 'verify', ms: 30, ok: false}],
      reasons: ['2 of 100 acknowledged visits are missing after the relaunch: ids 101, 102', 'checksum changed'],
    }
    const text = renderReport(failed).join('\n')
    expect(text).to.include('verify      30 ms       FAILED')
    expect(text).to.include('2 acknowledged missing (ids 101, 102)')
    expect(text).to.include('(CHANGED)')
    expect(text).to.include(
      'SIGKILL after 50 acknowledged, with 16 writes in flight; 12 attempts failed; db exit code 137',
    )
    expect(text).to.include('problems:\n  - 2 of 100 acknowledged visits are missing')
    expect(verdict(failed)).to.equal('FAILED: 2 problems; the data is not proven to survive SIGKILL and compose down')
    // Each HA mode names its own fault.
    expect(verdict({...failed, mode: 'pause'})).to.match(
      /not proven to survive a failover from a paused leader's node$/,
    )
    expect(verdict({...failed, mode: 'failover'})).to.match(/survive a failover$/)
    expect(verdict({...failed, mode: 'switchover'})).to.match(/survive a planned switchover$/)
  })
})
