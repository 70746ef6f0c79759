/**
 * The one persistence pipeline (write → disrupt → relaunch → verify → audit) judged over a stub stack and a
 * stub disruption: a lost acknowledged visit fails the check with a reason (and the same run without the loss
 * passes: the negative control), nothing acknowledged proves nothing, and the audit's findings are reasons.
 */
import {expect} from 'chai'

import type {WriteResult} from '../../../../src/lib/operations/verify/load.js'
import {MISSING_SHOWN} from '../../../../src/lib/operations/verify/result.js'
import {verifyWithDisruption, type ApiStack, type Disruption} from '../../../../src/lib/operations/verify/verify.js'

function written(ids: number[], failed = 0): WriteResult {
  return {
    attempted: ids.length + failed,
    acknowledged: ids.length,
    failed,
    inFlight: 0,
    acknowledgedIds: ids,
    errors: failed ? ['ECONNRESET'] : [],
  }
}

/** A database of ids: the disruption may lose some; the stack reports what is gone. */
function stubs(options: {ids: number[]; lose?: number[]; dbNodeAfter?: string; problems?: string[]}) {
  const stored = new Set<number>()
  const calls: string[] = []
  const stack: ApiStack = {
    project: 'demo',
    volume: 'demo_postgres_data',
    async prepare() {
      calls.push('prepare')
      return {url: 'http://127.0.0.1:1'}
    },
    async missing(ids) {
      calls.push('verify')
      return ids.filter((id) => !stored.has(id))
    },
    async total() {
      return stored.size
    },
    async audit() {
      calls.push('audit')
      const after = options.dbNodeAfter ?? 'node-1'
      return {
        reasons: after === 'node-1' ? [] : [`the db moved from node-1 to ${after}`],
        dbNodeBefore: 'node-1',
        dbNodeAfter: after,
      }
    },
  }
  const disruption: Disruption = {
    mode: 'kill',
    async disrupt(url, settings) {
      calls.push(`disrupt ${url} ${settings.visits}/${settings.concurrency}`)
      for (const id of options.ids) stored.add(id)
      return {written: written(options.ids), description: 'a stub kill', problems: options.problems ?? []}
    },
    async relaunch() {
      calls.push('relaunch')
      for (const id of options.lose ?? []) stored.delete(id)
    },
  }
  return {stack, disruption, calls}
}

const settings = {visits: 5, concurrency: 2}

describe('verifyWithDisruption (the persistence pipeline)', () => {
  it('passes when every acknowledged visit survives (the negative control of the next test)', async () => {
    const {stack, disruption, calls} = stubs({ids: [1, 2, 3, 4, 5]})
    const result = await verifyWithDisruption(stack, disruption, settings)
    expect(result).to.include({passed: true, mode: 'kill', acknowledged: 5, missingCount: 0, after: 5})
    expect(result.reasons).to.deep.equal([])
    expect(calls).to.deep.equal(['prepare', 'disrupt http://127.0.0.1:1 5/2', 'relaunch', 'verify', 'audit'])
    expect(result.phases.map((p) => p.name)).to.deep.equal(['prepare', 'disrupt', 'relaunch', 'verify', 'audit'])
    expect(result.swarm).to.deep.equal({disruption: 'a stub kill', dbNodeBefore: 'node-1', dbNodeAfter: 'node-1'})
  })

  it('fails with a reason when an acknowledged visit is lost across the relaunch', async () => {
    const {stack, disruption} = stubs({ids: [1, 2, 3, 4, 5], lose: [4]})
    const result = await verifyWithDisruption(stack, disruption, settings)
    expect(result.passed).to.equal(false)
    expect(result.missingCount).to.equal(1)
    expect(result.missing).to.deep.equal([4])
    expect(result.reasons).to.deep.equal(['1 acknowledged visits are missing after a stub kill'])
  })

  it('shows at most MISSING_SHOWN missing ids, lowest first, and counts them all', async () => {
    const ids = Array.from({length: MISSING_SHOWN + 10}, (_, i) => 100 - i)
    const {stack, disruption} = stubs({ids, lose: ids})
    const result = await verifyWithDisruption(stack, disruption, settings)
    expect(result.missingCount).to.equal(ids.length)
    expect(result.missing).to.have.length(MISSING_SHOWN)
    expect(result.missing[0]).to.equal(Math.min(...ids))
  })

  it('fails when nothing was acknowledged: nothing was proven', async () => {
    const {stack, disruption} = stubs({ids: []})
    const result = await verifyWithDisruption(stack, disruption, settings)
    expect(result.passed).to.equal(false)
    expect(result.reasons).to.deep.equal(['no visit was acknowledged, so nothing was proven'])
  })

  it('fails on the disruption’s own problems and on the audit’s findings', async () => {
    const {stack, disruption} = stubs({
      ids: [1, 2],
      problems: ['3 visits failed while node-2 was drained'],
      dbNodeAfter: 'node-3',
    })
    const result = await verifyWithDisruption(stack, disruption, settings)
    expect(result.passed).to.equal(false)
    expect(result.reasons).to.deep.equal([
      '3 visits failed while node-2 was drained',
      'the db moved from node-1 to node-3',
    ])
    expect(result.swarm?.dbNodeAfter).to.equal('node-3')
  })
})
