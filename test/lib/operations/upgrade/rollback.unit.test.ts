import {expect} from 'chai'

import {StackctlError} from '../../../../src/lib/errors.js'
import type {StackState} from '../../../../src/lib/model/stackdir/stack-files.js'
import {rollbackStack} from '../../../../src/lib/operations/upgrade/rollback.js'
import {StubEngine} from '../../../support/stub-stack.js'
import {stubStack} from '../../../support/stub-context.js'

const ID = '0123456789abcdef'
const ours = {'io.stackctl.stack-id': ID, 'io.stackctl.project': 'demo'}

/** A stack that db upgrade moved from 15 to 17 with 4 visits at the switch, now holding `visits`. */
async function upgraded(visits: number) {
  const engine = new StubEngine()
    .addVolume('demo_postgres_data', ours)
    .addVolume('demo_postgres_data_pg17', ours)
    .addContainer({name: 'demo-db-1', service: 'db', labels: ours})
  engine.execAnswers.set('psql', {exitCode: 0, stdout: `${visits}\n`, stderr: '', truncated: false})
  const stack = await stubStack({}, {engine})
  const state: StackState = {
    stackId: ID,
    settings: {project: 'demo', pgMajor: 17, volume: 'demo_postgres_data_pg17'},
    superseded: [{volume: 'demo_postgres_data', pgMajor: 15, supersededBy: 'demo_postgres_data_pg17', at: 't'}],
    switches: [
      {
        kind: 'upgrade',
        from: {volume: 'demo_postgres_data', pgMajor: 15},
        to: {volume: 'demo_postgres_data_pg17', pgMajor: 17},
        at: 't',
        visitsAtSwitch: 4,
      },
    ],
  }
  stack.ctx.state = state
  stack.ctx.config = {...stack.ctx.config, pgMajor: 17, volume: 'demo_postgres_data_pg17'}
  return stack
}

describe('db rollback (stub engine)', () => {
  it('refuses, saying how many visits would be lost, and changes nothing', async () => {
    const {ctx, compose, resolver} = await upgraded(7)
    const error = await rollbackStack(ctx, resolver, {}).then(
      () => undefined,
      (caught: unknown) => caught,
    )
    expect(error).to.be.instanceOf(StackctlError)
    expect((error as StackctlError).message).to.equal(
      'refusing to roll back: 3 visits were written since the upgrade and would be lost (they are only on demo_postgres_data_pg17)',
    )
    expect((error as StackctlError).exitCode).to.equal(2)
    expect(compose.calls.map((c) => c.verb)).to.deep.equal([]) // nothing was started or stopped
  })

  it('refuses a stack that was never upgraded', async () => {
    const {ctx, resolver} = await stubStack({}, {engine: new StubEngine().addVolume('demo_postgres_data', ours)})
    ctx.state = {stackId: ID, settings: {project: 'demo'}}
    const error = await rollbackStack(ctx, resolver, {force: true}).catch((caught: unknown) => caught)
    expect((error as StackctlError).message).to.equal(
      'nothing to roll back: demo_postgres_data was not made by db upgrade',
    )
  })

  it('refuses when the volume to return to is gone, and says where the backup is', async () => {
    const {ctx, engine, resolver} = await upgraded(4)
    engine.volumesByName.delete('demo_postgres_data')
    const error = await rollbackStack(ctx, resolver, {}).catch((caught: unknown) => caught)
    expect((error as StackctlError).message).to.equal('cannot roll back to demo_postgres_data: it no longer exists')
    expect((error as StackctlError).suggestion).to.include('the stack keeps running on demo_postgres_data_pg17')
  })
})
