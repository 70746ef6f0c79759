/** planUpgrade: the upgrade's steps as typed plan steps, in the executor's order, with a refusal first. */
import {expect} from 'chai'

import {UsageError} from '../../../src/lib/errors.js'
import {planUpgrade} from '../../../src/lib/plan/upgrade.js'
import {mutatingSteps} from '../../../src/lib/plan/steps.js'
import {STEPS} from '../../../src/lib/operations/upgrade/plan.js'

const request = {current: 15, target: 17, available: [15, 17], method: 'dump' as const, volume: 'demo_pg17'}

describe('planUpgrade', () => {
  it('follows the upgrade’s own STEPS, proving the copy (verify) before the switch', () => {
    const plan = planUpgrade(request)
    expect(plan.map((s) => s.service)).to.deep.equal([...STEPS])
    const names = plan.map((s) => s.service)
    expect(names.indexOf('verify')).to.be.lessThan(names.indexOf('switch'))
    expect(plan.find((s) => s.service === 'verify')?.kind).to.equal('check')
    expect(mutatingSteps(plan).map((s) => s.service)).to.deep.equal([
      'new volume',
      'backup',
      'new server',
      'copy',
      'switch',
    ])
    expect(plan.find((s) => s.service === 'new volume')?.cause).to.include('demo_pg17')
  })

  it('plans nothing and refuses the same or an older major, or one without an image', () => {
    expect(() => planUpgrade({...request, target: 15})).to.throw(UsageError, /already runs PostgreSQL 15/)
    expect(() => planUpgrade({...request, current: 17, target: 15})).to.throw(UsageError, /cannot be downgraded/)
    expect(() => planUpgrade({...request, target: 18})).to.throw(UsageError, /no PostgreSQL 18 image/)
  })
})
