/** `down`'s decisions over a stub engine and Compose: the volume is deleted only when asked and confirmed. */
import {expect} from 'chai'

import {Interrupted} from '../../../../src/lib/errors.js'
import {downStack} from '../../../../src/lib/targets/compose/down.js'
import {stubStack} from '../../../support/stub-context.js'
import {StubEngine} from '../../../support/stub-stack.js'
import {rejection} from '../../../support/rejection.js'

const VOLUME = 'demo_postgres_data'

/** A stack this directory rendered (so it has a stack id) whose volume carries that id. */
async function ownStack(visits = '42') {
  const stack = await stubStack()
  const stackId = '0123456789abcdef'
  stack.ctx.state = {stackId, settings: {project: 'demo'}}
  stack.engine.addVolume(VOLUME, {'io.stackctl.stack-id': stackId})
  stack.engine.addContainer({name: 'demo-db-1', service: 'db', labels: {'io.stackctl.stack-id': stackId}})
  stack.engine.execAnswers.set('psql', {exitCode: 0, stdout: `${visits}\n`, stderr: '', truncated: false})
  return stack
}

describe('down (stub engine)', () => {
  it('takes the stack down and keeps the volume, saying how many visits it holds', async () => {
    const {ctx, compose} = await ownStack()
    const result = await downStack(ctx)
    expect(compose.calls).to.deep.equal([{verb: 'down', options: {volumes: false}}])
    expect(result.volume).to.deep.equal({name: VOLUME, existed: true, deleted: false, visits: 42})
  })

  it('refuses --volumes without a terminal and without --force (exit 2), changing nothing', async () => {
    const {ctx, compose} = await ownStack()
    const error = await rejection(downStack(ctx, {volumes: true}))
    expect(error.exitCode).to.equal(2)
    expect(error.message).to.include(`refusing to delete volume ${VOLUME}`)
    expect(error.suggestion).to.include('42 visits')
    expect(compose.calls).to.deep.equal([])
  })

  it('keeps everything when the confirmation is not given (exit 1), and deletes when it is', async () => {
    const refused = await ownStack()
    const asked: Array<[string, number | undefined]> = []
    const error = await rejection(
      downStack(refused.ctx, {volumes: true, confirm: async (volume, visits) => (asked.push([volume, visits]), false)}),
    )
    expect(error.exitCode).to.equal(1)
    expect(asked).to.deep.equal([[VOLUME, 42]])
    expect(refused.compose.calls).to.deep.equal([])

    const confirmed = await ownStack()
    const result = await downStack(confirmed.ctx, {volumes: true, confirm: async () => true})
    expect(confirmed.compose.calls).to.deep.equal([{verb: 'down', options: {volumes: true}}])
    expect(result.volume.deleted).to.equal(true)
  })

  it('never deletes a volume that is not this stack’s, even with --volumes --force', async () => {
    const {ctx, compose, engine} = await stubStack()
    engine.addVolume(VOLUME) // no stackctl labels: somebody else's
    const error = await rejection(downStack(ctx, {volumes: true, force: true}))
    expect(error.exitCode).to.equal(2)
    expect(error.message).to.include('was not created by this stack')
    expect(error.suggestion).to.not.match(/down --volumes|delete/)
    expect(compose.calls).to.deep.equal([])
  })

  it('does nothing when interrupted before Compose starts (exit 130)', async () => {
    const {ctx, compose} = await ownStack()
    const controller = new AbortController()
    controller.abort()
    const error = await rejection(downStack(ctx, {signal: controller.signal}))
    expect(error).to.be.instanceOf(Interrupted)
    expect(error.exitCode).to.equal(130)
    expect(compose.calls).to.deep.equal([])
  })

  it('stops at an unreachable engine (exit 2)', async () => {
    const engine = new StubEngine()
    engine.reachable = false
    const {ctx, compose} = await stubStack({}, {engine})
    expect((await rejection(downStack(ctx))).exitCode).to.equal(2)
    expect(compose.calls).to.deep.equal([])
  })
})
