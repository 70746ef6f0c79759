/**
 * The target is chosen once, from the flags: every refusal of a flag that belongs to the other target, and the
 * target each accepted combination selects (no engine is touched: a target loads its stack on first use).
 */
import {expect} from 'chai'

import {EngineFactory} from '../../../src/lib/engine/factory.js'
import {UsageError} from '../../../src/lib/errors.js'
import {
  rendererFromFlags,
  targetFromFlags,
  TARGET_FLAG_RULES,
  type TargetCommand,
} from '../../../src/lib/targets/select.js'

function refusal(run: () => unknown): UsageError {
  try {
    run()
  } catch (error) {
    expect(error).to.be.instanceOf(UsageError)
    return error as UsageError
  }
  throw new Error('expected a UsageError, nothing was thrown')
}

/** Never asked for an engine: choosing a target touches none. */
const engines = new EngineFactory(() => {
  throw new Error('no engine is created while choosing a target')
})

const COMMANDS = Object.keys(TARGET_FLAG_RULES) as TargetCommand[]

describe('targetFromFlags', () => {
  it('selects Compose by default and Swarm with --target swarm, for every command', () => {
    for (const command of COMMANDS) {
      expect(targetFromFlags({}, command, engines).name, command).to.equal('compose')
      expect(targetFromFlags({target: 'compose'}, command, engines).name, command).to.equal('compose')
      expect(targetFromFlags({target: 'swarm'}, command, engines).name, command).to.equal('swarm')
      expect(targetFromFlags({target: 'swarm', 'docker-host': 'ssh://m'}, command, engines).name, command).to.equal(
        'swarm',
      )
    }
  })

  it('refuses --docker-host without --target swarm, on every command', () => {
    for (const command of COMMANDS) {
      const error = refusal(() => targetFromFlags({target: 'compose', 'docker-host': 'ssh://m'}, command, engines))
      expect(error.message, command).to.equal('--docker-host only apply to --target swarm')
      expect(error.suggestion).to.equal('add --target swarm')
      expect(error.exitCode).to.equal(2)
    }
  })

  it('refuses up’s deploy flags without --target swarm, naming each one given', () => {
    const error = refusal(() => targetFromFlags({replicas: 3, 'db-node': 'n1', registry: 'r:5000'}, 'up', engines))
    expect(error.message).to.equal('--replicas, --db-node, --registry only apply to --target swarm')
    // Negative control: the same flags are fine on the swarm.
    expect(
      targetFromFlags({target: 'swarm', replicas: 3, 'db-node': 'n1', registry: 'r:5000'}, 'up', engines).name,
    ).to.equal('swarm')
  })

  it('refuses --dev, --adopt, --db-port and --wal-archive on up --target swarm', () => {
    for (const flags of [{dev: true}, {adopt: true}, {'db-port': '5432'}, {'wal-archive': true}]) {
      const error = refusal(() => targetFromFlags({target: 'swarm', ...flags}, 'up', engines))
      expect(error.message).to.equal('--dev, --adopt, --db-port and --wal-archive only apply to --target compose')
      expect(error.suggestion).to.equal('omit them (the swarm target does not archive its WAL yet)')
    }
    // A boolean flag oclif reports as false was not given (--no-wal-archive: what the swarm does anyway).
    expect(
      targetFromFlags({target: 'swarm', dev: false, adopt: false, 'wal-archive': false}, 'up', engines).name,
    ).to.equal('swarm')
    expect(
      targetFromFlags({dev: true, adopt: true, 'db-port': '5432', 'wal-archive': true}, 'up', engines).name,
    ).to.equal('compose')
  })

  it('refuses --adopt and --keep-running on verify-persistence --target swarm', () => {
    for (const flags of [{adopt: true}, {'keep-running': true}]) {
      const error = refusal(() => targetFromFlags({target: 'swarm', ...flags}, 'verify-persistence', engines))
      expect(error.message).to.equal('--adopt and --keep-running only apply to --target compose')
    }
    expect(targetFromFlags({adopt: true, 'keep-running': true}, 'verify-persistence', engines).name).to.equal('compose')
  })

  it('refuses --adopt on volume backup and restore --target swarm', () => {
    for (const command of ['volume backup', 'volume restore'] as const) {
      const error = refusal(() => targetFromFlags({target: 'swarm', adopt: true}, command, engines))
      expect(error.message).to.equal('--adopt only applies to --target compose')
      expect(error.suggestion).to.equal('omit it')
      expect(targetFromFlags({adopt: true}, command, engines).name).to.equal('compose')
    }
  })

  it('refuses a target that does not deploy (kubernetes is render-only)', () => {
    const error = refusal(() => targetFromFlags({target: 'kubernetes'}, 'up', engines))
    expect(error.message).to.equal('--target kubernetes does not apply to up')
  })
})

describe('rendererFromFlags', () => {
  it('selects compose, swarm or kubernetes', () => {
    expect(rendererFromFlags({}, '1.0.0', engines).name).to.equal('compose')
    expect(rendererFromFlags({target: 'swarm', replicas: 3}, '1.0.0', engines).name).to.equal('swarm')
    expect(rendererFromFlags({target: 'kubernetes', namespace: 'x'}, '1.0.0', engines).name).to.equal('kubernetes')
  })

  it('refuses kubernetes flags without --target kubernetes', () => {
    const error = refusal(() => rendererFromFlags({namespace: 'x', replicas: 2}, '1.0.0', engines))
    expect(error.message).to.equal('--namespace, --replicas only apply to --target kubernetes')
    expect(error.suggestion).to.equal('add --target kubernetes')
  })

  it('refuses --adopt with --target kubernetes', () => {
    const error = refusal(() => rendererFromFlags({target: 'kubernetes', adopt: true}, '1.0.0', engines))
    expect(error.message).to.equal('--adopt only applies to --target compose')
    expect(error.suggestion).to.equal('omit --adopt')
  })

  it('refuses kubernetes flags other than --replicas, --adopt and --force with --target swarm', () => {
    const error = refusal(() =>
      rendererFromFlags({target: 'swarm', namespace: 'x', adopt: true, force: true}, '1.0.0', engines),
    )
    expect(error.message).to.equal('--namespace, --adopt, --force do not apply to --target swarm')
    expect(error.suggestion).to.equal('omit them')
  })
})
