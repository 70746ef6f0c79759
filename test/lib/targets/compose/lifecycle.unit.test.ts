/** stop / start / restart decisions over the stub engine and Compose. */
import {expect} from 'chai'

import {commandsFor} from '../../../../src/lib/model/config/command-line.js'
import {StackctlError} from '../../../../src/lib/errors.js'
import {describeLifecycle, restartStack, startStack, stopStack} from '../../../../src/lib/targets/compose/lifecycle.js'
import {stubStack} from '../../../support/stub-context.js'

const STACK_ID = '0123456789abcdef'

async function ownStack(state: string | undefined) {
  const stack = await stubStack()
  stack.ctx.state = {stackId: STACK_ID, settings: {project: 'demo'}}
  stack.engine.addVolume('demo_postgres_data', {'io.stackctl.stack-id': STACK_ID})
  if (state) {
    for (const service of ['db', 'app']) {
      stack.engine.addContainer({name: `demo-${service}-1`, service, state, labels: {'io.stackctl.stack-id': STACK_ID}})
    }
  }
  return stack
}

describe('stop, start, restart (stub engine)', () => {
  it('stop asks Compose to stop a running stack and keeps its containers; an already stopped one is left alone', async () => {
    const running = await ownStack('running')
    const result = await stopStack(running.ctx)
    expect(running.compose.calls).to.deep.equal([{verb: 'stop', options: ['app', 'db']}])
    expect(result).to.deep.include({action: 'stop', changed: true})
    expect(running.engine.calls.filter((c) => c.startsWith('remove'))).to.deep.equal([])

    const stopped = await ownStack('exited')
    const again = await stopStack(stopped.ctx)
    expect(stopped.compose.calls).to.deep.equal([])
    expect(again.changed).to.equal(false)
    expect(describeLifecycle(again, commandsFor(stopped.ctx.config))).to.include("stack 'demo' was already stopped")
  })

  it('start of a stack without containers refuses (exit 1), names up, and starts nothing', async () => {
    for (const run of [startStack, restartStack]) {
      const {ctx, compose} = await ownStack(undefined)
      const error = await run(ctx).catch((caught: unknown) => caught)
      expect(error).to.be.instanceOf(StackctlError)
      expect((error as StackctlError).exitCode).to.equal(1)
      expect((error as StackctlError).message).to.include("stack 'demo' has no containers")
      expect((error as StackctlError).suggestion).to.match(
        /^run stackctl up --dir \S+ --project-name demo to create and start them/,
      )
      expect(compose.calls).to.deep.equal([])
    }
  })

  it('start starts the existing containers and reports them running with the visits', async () => {
    const {ctx, compose, engine} = await ownStack('exited')
    engine.execAnswers.set('psql', {exitCode: 0, stdout: '7\n', stderr: '', truncated: false})
    const result = await startStack(ctx)
    expect(compose.calls.map((c) => c.verb)).to.deep.equal(['start'])
    expect(result.services.map((s) => [s.name, s.before, s.after])).to.deep.equal([
      ['db', 'exited', 'running'],
      ['app', 'exited', 'running'],
    ])
    expect(result).to.deep.include({changed: true, visits: 7, url: 'http://127.0.0.1:5000'})
  })

  it('never stops or starts a project of the same name that is not this stack’s (exit 2)', async () => {
    const {ctx, compose, engine} = await stubStack()
    engine.addContainer({name: 'demo-db-1', service: 'db'}) // no stackctl labels
    for (const run of [stopStack, startStack, restartStack]) {
      const error = await run(ctx).catch((caught: unknown) => caught)
      expect((error as StackctlError).exitCode).to.equal(2)
      expect((error as StackctlError).message).to.include('is not this stack')
    }
    expect(compose.calls).to.deep.equal([])
  })
})
