/** `status` over a stub engine: each service's state and health, the mode, the volume, the warnings. */
import {expect} from 'chai'

import {StackctlError} from '../../../src/lib/errors.js'
import {stackProblems, stackStatus} from '../../../src/lib/stack/status.js'
import {repairRestoreLeftovers} from '../../../src/lib/operations/backup-restore/restore-leftovers.js'
import {stubStack} from '../../support/stub-context.js'
import {commandsFor} from '../../../src/lib/model/config/command-line.js'

const ID = '0123456789abcdef'
const ours = {'io.stackctl.stack-id': ID}

describe('status (stub engine)', () => {
  it('reports each service, the mode and the volume of a running stack', async () => {
    const {ctx, engine} = await stubStack()
    ctx.state = {stackId: ID, settings: {project: 'demo'}}
    engine.addContainer({name: 'demo-db-1', service: 'db', labels: ours})
    engine.addContainer({
      name: 'demo-app-1',
      service: 'app',
      health: 'unhealthy',
      labels: {...ours, 'io.stackctl.mode': 'dev'},
    })
    engine.addVolume('demo_postgres_data', ours)
    const status = await stackStatus(ctx)
    expect(status.services).to.deep.equal([
      {name: 'db', state: 'running', health: 'healthy'},
      {name: 'app', state: 'running', health: 'unhealthy'},
    ])
    expect(status.mode).to.equal('dev')
    expect(status.volume).to.deep.equal({name: 'demo_postgres_data', exists: true, pgMajor: 17, superseded: []})
    expect(status.warnings).to.deep.equal([])
    // The engine's last check says why the app is unhealthy (the stub's: '<service> health output').
    expect(status.problems).to.have.length(1)
    expect(status.problems[0]).to.match(
      /^app is running but unhealthy \(last health check: app health output\): see stackctl logs app /,
    )
  })

  it('reports a stack that is not there as absent, with no mode', async () => {
    const {ctx} = await stubStack()
    const status = await stackStatus(ctx)
    expect(status.services.map((s) => s.state)).to.deep.equal(['absent', 'absent'])
    expect(status.mode).to.equal(null)
    expect(status.volume.exists).to.equal(false)
  })

  it('warns about a host beyond loopback', async () => {
    const {ctx} = await stubStack({host: '0.0.0.0'})
    expect((await stackStatus(ctx)).warnings[0]).to.include('reachable from other machines')
  })

  it('refuses to report another stack’s containers as this one’s (exit 2)', async () => {
    const {ctx, engine} = await stubStack()
    engine.addContainer({
      name: 'demo-db-1',
      service: 'db',
      labels: {'io.stackctl.stack-id': 'ffffffffffffffff', 'io.stackctl.dir': '/srv/x'},
    })
    const error = await stackStatus(ctx).then(
      () => undefined,
      (caught: unknown) => caught,
    )
    expect(error).to.be.instanceOf(StackctlError)
    expect((error as StackctlError).suggestion).to.include('work on it with --dir /srv/x')
  })

  it('names the stopped db alone while the app waits on it ("still starting" only when nothing is down)', () => {
    expect(
      stackProblems([
        {name: 'db', state: 'exited', health: 'none'},
        {name: 'app', state: 'running', health: 'starting'},
      ]),
    ).to.deep.equal(['db is exited: run stackctl up to start it (stackctl logs db says why it stopped)'])
    // The control: with everything running, a starting service is named.
    expect(
      stackProblems([
        {name: 'db', state: 'running', health: 'healthy'},
        {name: 'app', state: 'running', health: 'starting'},
      ]),
    ).to.deep.equal(['app is still starting'])
  })

  it('names what is wrong with a started stack and what to run; a stack never started has no problem', () => {
    const running = {state: 'running', health: 'healthy'}
    expect(
      stackProblems([
        {name: 'db', ...running},
        {name: 'app', ...running},
      ]),
    ).to.deep.equal([])
    expect(
      stackProblems([
        {name: 'db', state: 'absent', health: 'none'},
        {name: 'app', state: 'absent', health: 'none'},
      ]),
    ).to.deep.equal([])
    expect(
      stackProblems([
        {name: 'db', state: 'exited', health: 'none'},
        {name: 'app', state: 'running', health: 'unhealthy'},
      ]),
    ).to.deep.equal([
      'db is exited: run stackctl up to start it (stackctl logs db says why it stopped)',
      'app is running but unhealthy: see stackctl logs app',
    ])
    // stopped as a whole (stackctl stop): start brings the same containers back
    expect(
      stackProblems(
        [
          {name: 'db', state: 'exited', health: 'none'},
          {name: 'app', state: 'exited', health: 'none'},
        ],
        commandsFor({dir: '/srv/stacks/ux2', project: 'ux2'}),
      ),
    ).to.deep.equal(['the stack is stopped: run stackctl start --dir /srv/stacks/ux2 --project-name ux2 to start it'])
    // addressed to a stack of its own: every command names its --dir and --project-name
    const command = commandsFor({dir: '/srv/stacks/ux2', project: 'ux2'})
    expect(stackProblems([{name: 'db', state: 'exited', health: 'none'}], command)).to.deep.equal([
      'db is exited: run stackctl up --dir /srv/stacks/ux2 --project-name ux2 to start it ' +
        '(stackctl logs db --dir /srv/stacks/ux2 --project-name ux2 says why it stopped)',
    ])
  })
})

describe('status after a repair that found nothing (stub engine)', () => {
  const LEFT = 'postgres|true\nvisits|false\n|active|0' // a killed volume restore left visits closed
  const CLEAN = 'postgres|true\nvisits|true\n|active|0'

  async function runningStack(answer: string) {
    const {ctx, engine} = await stubStack()
    ctx.state = {stackId: ID, settings: {project: 'demo'}}
    engine.addContainer({name: 'demo-db-1', service: 'db', labels: ours})
    engine.addContainer({name: 'demo-app-1', service: 'app', labels: ours})
    engine.execAnswers.set('psql', {exitCode: 0, stdout: answer, stderr: '', truncated: false})
    return {ctx, engine, psqlCalls: () => engine.calls.filter((c) => c.endsWith(' psql')).length}
  }

  it('is not asked again when the repair under the same lock saw a clean cluster', async () => {
    const {ctx, psqlCalls} = await runningStack(CLEAN)
    const repaired = await repairRestoreLeftovers(ctx)
    expect(repaired).to.deep.equal({done: [], check: 'clean'})
    const asked = psqlCalls()
    expect((await stackStatus(ctx, {leftovers: repaired.check})).problems).to.deep.equal([])
    expect(psqlCalls()).to.equal(asked)
    // Control: without the repair's word, status asks the db itself.
    await stackStatus(ctx)
    expect(psqlCalls()).to.equal(asked + 1)
  })

  it('is asked again after a repair that found something (what is left is reported)', async () => {
    const {ctx, psqlCalls} = await runningStack(LEFT)
    const repaired = await repairRestoreLeftovers(ctx)
    expect(repaired.check).to.equal('unknown')
    expect(repaired.done).to.have.length(1)
    const asked = psqlCalls()
    const status = await stackStatus(ctx, {leftovers: repaired.check})
    expect(psqlCalls()).to.equal(asked + 1)
    // The stub answers as before the repair: status reports the closed database it still sees.
    expect(status.problems.join('\n')).to.match(/database 'visits' refuses new connections/)
  })
})
