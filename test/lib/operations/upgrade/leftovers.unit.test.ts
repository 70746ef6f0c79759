/** What a killed db upgrade leaves, as up cleans it and doctor reports it, over a stub engine. */
import {expect} from 'chai'

import {cleanLeftovers, leftoversCheck} from '../../../../src/lib/operations/upgrade/leftovers.js'
import {stubStack} from '../../../support/stub-context.js'
import {StubEngine} from '../../../support/stub-stack.js'

const stackId = '0123456789abcdef'
const pending = 'demo_postgres_data_pg17'

async function killedUpgrade(options: {server?: boolean; volume?: boolean} = {}) {
  const engine = new StubEngine()
  engine.addContainer({name: 'demo-db-1', service: 'db', labels: {'io.stackctl.stack-id': stackId}})
  engine.addContainer({name: 'demo-app-1', service: 'app', state: 'exited', labels: {'io.stackctl.stack-id': stackId}})
  // Another stack's upgrade server is never this stack's leftover.
  engine.addContainer({
    name: 'other-upgrade-pg17',
    service: '',
    project: 'other',
    labels: {'io.stackctl.role': 'upgrade', 'io.stackctl.stack-id': 'ffffffffffffffff'},
  })
  if (options.server !== false) {
    engine.addContainer({
      name: 'demo-upgrade-pg17',
      service: '',
      project: '',
      labels: {'io.stackctl.role': 'upgrade', 'io.stackctl.stack-id': stackId},
    })
  }
  if (options.volume !== false) engine.addVolume(pending, {'io.stackctl.stack-id': stackId})
  const stack = await stubStack({}, {engine})
  stack.ctx.state = {stackId, settings: {project: 'demo'}, pendingUpgrade: {volume: pending}}
  return stack
}

describe('leftovers of a killed db upgrade', () => {
  it('doctor fails on the temporary server and the stopped API, with the command that cleans them', async () => {
    const {ctx} = await killedUpgrade()
    const check = await leftoversCheck(ctx)
    expect(check?.status).to.equal('fail')
    expect(check?.detail).to.equal(
      `demo-upgrade-pg17 (running), the temporary server of a db upgrade that was killed; the API it stopped is still stopped; ${pending}, the unfinished copy of a db upgrade that was killed (the stack never ran on it): the next db upgrade replaces it; to remove it now: stackctl db prune-old ${pending} --dir ${ctx.paths.dir} --project-name demo`,
    )
    expect(check?.fix).to.equal(
      `if no stackctl db upgrade is running, stackctl up --dir ${ctx.paths.dir} --project-name demo removes the temporary server and starts the API`,
    )
    expect(check?.detail).not.to.include('other-upgrade')
  })

  it('doctor warns about an unfinished volume alone, and says nothing when there is nothing', async () => {
    const stopped = await killedUpgrade({server: false})
    expect(await leftoversCheck(stopped.ctx)).to.deep.include({
      status: 'fail',
      fix: `stackctl up --dir ${stopped.ctx.paths.dir} --project-name demo starts the API`,
    })
    const {ctx, engine} = await killedUpgrade({server: false})
    engine.containersList.find((c) => c.service === 'app')!.state = 'running'
    expect(await leftoversCheck(ctx)).to.deep.equal({
      status: 'warn',
      detail: `${pending}, the unfinished copy of a db upgrade that was killed (the stack never ran on it): the next db upgrade replaces it; to remove it now: stackctl db prune-old ${pending} --dir ${ctx.paths.dir} --project-name demo`,
      fix: `stackctl db prune-old ${pending} --dir ${ctx.paths.dir} --project-name demo`,
    })
    const clean = await killedUpgrade({server: false, volume: false})
    expect(await leftoversCheck(clean.ctx)).to.equal(undefined)
  })

  it('up removes the temporary server only, and keeps the volume with the command that removes it', async () => {
    const {ctx, engine, progress} = await killedUpgrade()
    await cleanLeftovers(ctx)
    expect(engine.calls.filter((call) => call.startsWith('remove'))).to.deep.equal([
      'remove container id-demo-upgrade-pg17',
    ])
    expect(progress).to.deep.equal([
      'removed demo-upgrade-pg17 (running), the temporary server of a db upgrade that was killed',
      `kept ${pending}, the unfinished copy of a db upgrade that was killed (the stack never ran on it): the next db upgrade replaces it; to remove it now: stackctl db prune-old ${pending} --dir ${ctx.paths.dir} --project-name demo`,
    ])
  })
})

describe('leftovers of a killed db restore', () => {
  async function killedRestore() {
    const engine = new StubEngine()
    engine.addContainer({name: 'demo-db-1', service: 'db', labels: {'io.stackctl.stack-id': stackId}})
    engine.addContainer({name: 'demo-app-1', service: 'app', labels: {'io.stackctl.stack-id': stackId}})
    engine.addContainer({
      name: 'demo-recovery',
      service: '',
      project: '',
      labels: {'io.stackctl.recovery-of': pending, 'io.stackctl.stack-id': stackId},
    })
    // Another stack's recovery server is never this stack's leftover.
    engine.addContainer({
      name: 'other-recovery',
      service: '',
      project: '',
      labels: {'io.stackctl.recovery-of': 'other_postgres_data_pg17', 'io.stackctl.stack-id': 'ffffffffffffffff'},
    })
    engine.addVolume(pending, {'io.stackctl.stack-id': stackId, 'io.stackctl.restore-run': '00aa'})
    const stack = await stubStack({}, {engine})
    stack.ctx.state = {stackId, settings: {project: 'demo'}, pendingUpgrade: {volume: pending}}
    return stack
  }

  it('doctor names the recovery server and the unfinished volume as a db restore’s, not an upgrade’s', async () => {
    const {ctx} = await killedRestore()
    const check = await leftoversCheck(ctx)
    expect(check?.status).to.equal('fail')
    expect(check?.detail).to.equal(
      `demo-recovery (running), the recovery server of a db restore that was killed; ${pending}, the unfinished copy of a db restore that was killed (the stack never ran on it): the next db restore removes it; to remove it now: stackctl db prune-old ${pending} --dir ${ctx.paths.dir} --project-name demo`,
    )
    expect(check?.fix).to.equal(
      `if no stackctl db restore is running, stackctl up --dir ${ctx.paths.dir} --project-name demo removes the temporary server and starts the API`,
    )
  })

  it('up removes the recovery server only and keeps the volume', async () => {
    const {ctx, engine, progress} = await killedRestore()
    await cleanLeftovers(ctx)
    expect(engine.calls.filter((call) => call.startsWith('remove'))).to.deep.equal([
      'remove container id-demo-recovery',
    ])
    expect(progress[0]).to.equal('removed demo-recovery (running), the recovery server of a db restore that was killed')
  })
})
