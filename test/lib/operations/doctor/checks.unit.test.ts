/** `doctor` over a stub engine: which checks run, what fails, and that a broken engine is said once. */
import {expect} from 'chai'

import {runDoctor} from '../../../../src/lib/operations/doctor/checks.js'
import {freePort} from '../../../../src/lib/engine/net/ports.js'
import {stubStack, withLocalImages} from '../../../support/stub-context.js'
import {StubEngine} from '../../../support/stub-stack.js'

describe('doctor (stub engine)', () => {
  it('passes on a machine with everything in place, naming every check', async () => {
    const {ctx} = await stubStack({port: await freePort()}, {engine: withLocalImages(new StubEngine())})
    const report = await runDoctor(ctx)
    expect(report.checks.map((c) => c.name)).to.deep.equal([
      'engine',
      'compose',
      'images',
      'port',
      'disk',
      'stack-dir',
      'exposure',
      'owner',
      'stack',
      'secret',
      'volume',
      'restore',
    ])
    expect(report.checks.filter((c) => c.status === 'fail')).to.deep.equal([])
    expect(report.passed).to.equal(true)
  })

  it('fails the engine once and marks what depends on it as not checked', async () => {
    const engine = new StubEngine()
    engine.reachable = false
    const {ctx} = await stubStack({}, {engine})
    const report = await runDoctor(ctx)
    expect(report.passed).to.equal(false)
    const byName = Object.fromEntries(report.checks.map((c) => [c.name, c]))
    expect(byName.engine.detail).to.include('cannot reach the Docker engine at unix:///stub/docker.sock')
    for (const name of ['images', 'port', 'disk', 'owner', 'stack', 'secret', 'volume', 'restore']) {
      expect(byName[name], name).to.deep.include({status: 'fail', detail: 'not checked: the engine is unreachable'})
    }
  })

  it('fails a project that is not this stack’s and never advises deleting it', async () => {
    const engine = withLocalImages(new StubEngine())
      .addContainer({name: 'demo-db-1', service: 'db'})
      .addVolume('demo_postgres_data')
    const {ctx} = await stubStack({port: await freePort()}, {engine})
    const report = await runDoctor(ctx)
    const owner = report.checks.find((c) => c.name === 'owner')!
    expect(owner.status).to.equal('fail')
    expect(owner.detail).to.include('was not created by stackctl')
    expect(JSON.stringify(report)).to.not.match(/down --volumes|delete the volume/)
  })

  it('warns about exposure without failing', async () => {
    const {ctx} = await stubStack(
      {port: await freePort(), host: '0.0.0.0'},
      {engine: withLocalImages(new StubEngine())},
    )
    const report = await runDoctor(ctx)
    expect(report.checks.find((c) => c.name === 'exposure')).to.include({status: 'warn'})
    expect(report.passed).to.equal(true)
  })
})
