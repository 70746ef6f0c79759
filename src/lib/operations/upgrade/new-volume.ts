/**
 * The new data volume of `db upgrade`, `db restore` and `snapshot restore`: recorded in stack.json as pending
 * before the engine is asked (a killed command leaves a name the next run can find), registered with the
 * undo, created with a run label, and then checked to be the one this run made.
 */
import {randomBytes} from 'node:crypto'

import {StackctlError, VolumeOptionsRefused} from '../../errors.js'
import type {StepRunner} from '../../plan/runner.js'
import type {StackContext} from '../../stack/context.js'
import {shellQuote} from './plan.js'
import {updateState} from './switch.js'

export interface NewVolumeSpec {
  name: string
  driver: string
  options: Record<string, string>
  labels: Record<string, string>
  /** The label that carries this run's id: a volume without it (or with another run's) is not ours. */
  runLabel: string
  /** Whether the options are the user's --volume-opt (else the old volume's, which the new one inherits). */
  requested: boolean
  /** The command, as its messages name it. */
  command: string
  /** The command line that, with --volume-opt added, gives the new volume other options. */
  hintCommand: string
}

export async function createNewVolume(ctx: StackContext, runner: StepRunner, spec: NewVolumeSpec): Promise<string> {
  const {name} = spec
  const runId = randomBytes(8).toString('hex')
  const clearPending = () => updateState(ctx, ({pendingUpgrade: _pending, ...state}) => state)
  await updateState(ctx, (state) => ({...state, pendingUpgrade: {volume: name}}))
  const what = `the new volume ${name} removed`
  runner.onUndo(what, async () => {
    await ctx.engine.volumes.remove(name)
    await clearPending()
  })
  try {
    await ctx.engine.volumes.create({
      name,
      driver: spec.driver,
      ...(Object.keys(spec.options).length > 0 ? {driverOptions: spec.options} : {}),
      labels: {...spec.labels, [spec.runLabel]: runId},
    })
  } catch (error) {
    // The undo would say a volume was removed that was never made: when the engine made none, only the
    // pending record is taken back, and the undo forgotten.
    if ((await ctx.engine.volumes.inspect(name)) === undefined) {
      runner.forget(what)
      await clearPending()
    }
    if (error instanceof VolumeOptionsRefused) throw refused(error, spec)
    throw error
  }
  // Creating a volume that exists returns it: a name taken in the meantime must not become ours to remove.
  const created = await ctx.engine.volumes.inspect(name)
  if (created?.labels[spec.runLabel] !== runId) {
    runner.forget(what)
    throw new StackctlError(`volume ${name} appeared while ${spec.command} created it; it was left alone`)
  }
  return name
}

const BIND_EXAMPLE = '--volume-opt type=none --volume-opt o=bind --volume-opt device=DIR (DIR an empty directory)'

function refused(error: VolumeOptionsRefused, spec: NewVolumeSpec): StackctlError {
  const given = Object.entries(spec.options)
    .map(([key, value]) => (spec.requested ? `--volume-opt ${shellQuote(`${key}=${value}`)}` : `${key}=${value}`))
    .join(' ')
  const whose = spec.requested ? given : `the old volume's options (${given})`
  return new StackctlError(`the engine refused the new volume's options, ${whose}: ${error.reason}`, {
    exitCode: 2,
    suggestion: spec.requested
      ? `a bind mount takes all three: ${spec.hintCommand} ${BIND_EXAMPLE}`
      : `give the new volume options of its own: ${spec.hintCommand} ${BIND_EXAMPLE}`,
    cause: error,
  })
}
