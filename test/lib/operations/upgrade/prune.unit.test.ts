import {expect} from 'chai'

import {StackctlError} from '../../../../src/lib/errors.js'
import {choosePruneTarget} from '../../../../src/lib/operations/upgrade/prune.js'
import {lastUpgrade} from '../../../../src/lib/operations/upgrade/rollback.js'
import type {StackState} from '../../../../src/lib/model/stackdir/stack-files.js'

const old15 = {volume: 'demo_postgres_data', pgMajor: 15, supersededBy: 'demo_postgres_data_pg17', at: 't1'}
const old17 = {volume: 'demo_postgres_data_pg17', pgMajor: 17, supersededBy: 'demo_postgres_data', at: 't2'}

describe('db prune-old and db rollback (pure parts)', () => {
  it('prunes the one superseded volume, or the one named; never guesses among several', () => {
    expect(choosePruneTarget([old15])).to.equal(old15)
    expect(choosePruneTarget([old15, old17], 'demo_postgres_data_pg17')).to.equal(old17)
    expect(() => choosePruneTarget([old15, old17]))
      .to.throw(StackctlError, 'this stack has 2 superseded volumes')
      .with.property('exitCode', 2)
    expect(() => choosePruneTarget([])).to.throw(StackctlError, 'this stack has no superseded volume')
    expect(() => choosePruneTarget([old15], 'demo_postgres_data_pg17')).to.throw(
      StackctlError,
      'demo_postgres_data_pg17 is not a superseded volume of this stack',
    )
  })

  it('rolls back only what an upgrade made', () => {
    const state = {
      stackId: '0123456789abcdef',
      settings: {project: 'demo'},
      switches: [
        {
          kind: 'upgrade',
          from: {volume: 'demo_postgres_data', pgMajor: 15},
          to: {volume: 'demo_postgres_data_pg17', pgMajor: 17},
          at: 't1',
          visitsAtSwitch: 4,
        },
        {
          kind: 'rollback',
          from: {volume: 'demo_postgres_data_pg17', pgMajor: 17},
          to: {volume: 'demo_postgres_data', pgMajor: 15},
          at: 't2',
          visitsAtSwitch: 3,
        },
      ],
    } satisfies StackState
    expect(lastUpgrade(state, 'demo_postgres_data_pg17')?.from.pgMajor).to.equal(15)
    expect(lastUpgrade(state, 'demo_postgres_data')).to.equal(undefined)
    expect(lastUpgrade(undefined, 'demo_postgres_data')).to.equal(undefined)
  })
})
