import {expect} from 'chai'
import {mkdir} from 'node:fs/promises'

import {StackctlError, VolumeOptionsRefused} from '../../../../src/lib/errors.js'
import {readState, writeState} from '../../../../src/lib/model/stackdir/stack-files.js'
import {createNewVolume, type NewVolumeSpec} from '../../../../src/lib/operations/upgrade/new-volume.js'
import {StepRunner} from '../../../../src/lib/plan/runner.js'
import {StubEngine} from '../../../support/stub-stack.js'
import {stubStack} from '../../../support/stub-context.js'

const ID = '0123456789abcdef'

function spec(requested: boolean): NewVolumeSpec {
  return {
    name: 'demo_postgres_data_pg17',
    driver: 'local',
    options: {device: '/srv/pg'},
    labels: {'io.stackctl.stack-id': ID},
    runLabel: 'io.stackctl.test-run',
    requested,
    command: 'db restore',
    hintCommand: 'stackctl db restore --latest',
  }
}

/** A stack with its state on disk; the engine refuses the volume's options, or creates it and then fails. */
async function stack(create: 'refuse' | 'create-then-fail') {
  const engine = new StubEngine()
  const made = engine.volumes.create
  engine.volumes.create = async (volume) => {
    if (create === 'create-then-fail') {
      await made(volume)
      throw new Error('the engine answered 500 after creating it')
    }
    throw new VolumeOptionsRefused(volume.name, 'missing required option: "type"')
  }
  const stubbed = await stubStack({}, {engine})
  await mkdir(stubbed.ctx.config.dir, {recursive: true})
  await writeState(stubbed.ctx.paths, {stackId: ID, settings: {project: 'demo'}})
  stubbed.ctx.state = {stackId: ID, settings: {project: 'demo'}}
  return stubbed
}

describe('createNewVolume (stub engine)', () => {
  it('turns the engine’s refusal of --volume-opt into one line with a hint (exit 2); nothing to undo, nothing pending', async () => {
    const {ctx} = await stack('refuse')
    const runner = new StepRunner()
    const error = await createNewVolume(ctx, runner, spec(true)).catch((e: unknown) => e)
    expect(error).to.be.instanceOf(StackctlError)
    expect((error as StackctlError).exitCode).to.equal(2)
    expect((error as StackctlError).message).to.equal(
      `the engine refused the new volume's options, --volume-opt device=/srv/pg: missing required option: "type"`,
    )
    expect((error as StackctlError).suggestion).to.equal(
      'a bind mount takes all three: stackctl db restore --latest --volume-opt type=none --volume-opt o=bind --volume-opt device=DIR (DIR an empty directory)',
    )
    // The undo would say a volume was removed that was never made.
    expect((await runner.undo()).done).to.deep.equal([])
    expect((await readState(ctx.paths))?.pendingUpgrade).to.equal(undefined)
  })

  it('says the options were the old volume’s when the user gave none', async () => {
    const {ctx} = await stack('refuse')
    const error = (await createNewVolume(ctx, new StepRunner(), spec(false)).catch((e: unknown) => e)) as StackctlError
    expect(error.message).to.match(/options, the old volume's options \(device=\/srv\/pg\): missing/)
    expect(error.suggestion).to.match(
      /^give the new volume options of its own: stackctl db restore --latest --volume-opt/,
    )
  })

  it('control: a volume the engine did make before failing stays registered with the undo, and the undo removes it', async () => {
    const {ctx, engine} = await stack('create-then-fail')
    const runner = new StepRunner()
    const error = await createNewVolume(ctx, runner, spec(true)).catch((e: unknown) => e)
    expect(error).to.not.be.instanceOf(StackctlError)
    expect((await readState(ctx.paths))?.pendingUpgrade).to.deep.equal({volume: 'demo_postgres_data_pg17'})
    expect((await runner.undo()).done).to.deep.equal(['the new volume demo_postgres_data_pg17 removed'])
    expect(engine.volumesByName.has('demo_postgres_data_pg17')).to.equal(false)
    expect((await readState(ctx.paths))?.pendingUpgrade).to.equal(undefined)
  })
})
