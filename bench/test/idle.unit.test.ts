import {expect} from 'chai'

import {IDLE_CORES_LIMIT, idleLine, idleTargets} from '../idle.js'
import {parseOptions} from '../options.js'
import type {IdleCpuResult} from '../results.js'

const idle = (stack: number): IdleCpuResult => ({
  seconds: 60,
  stack,
  containers: stack / 2,
  shims: stack / 4,
  engine: stack / 4,
  machine: 0.02,
  baselineMachine: 1.5,
  loadavg: [0.5, 0.4, 0.3],
})

describe('bench: idle stack CPU', () => {
  it('passes at the limit and fails above it (target on containers + shims + engine)', () => {
    expect(idleTargets(idle(IDLE_CORES_LIMIT))[0]).to.include({pass: true, value: `${IDLE_CORES_LIMIT} core`})
    expect(idleTargets(idle(0.12))[0]).to.include({pass: false, value: '0.12 core'})
  })

  it('reports each part, the whole machine against its baseline and the load average', () => {
    const line = idleLine({idle: idle(0.008)})
    expect(line).to.include('0.008 core over 60 s')
    expect(line).to.include('whole machine 0.02 above a baseline of 1.5')
    expect(line).to.include('load average 0.5 0.4 0.3')
    expect(idleLine({})).to.include('not measured')
  })

  it('runs on its own with --only idle, for as long as --idle-seconds says', () => {
    expect(parseOptions(['--only', 'idle', '--idle-seconds', '30'])).to.include({only: 'idle', idleSeconds: 30})
    expect(parseOptions([])).to.include({idleSeconds: 120})
    expect(() => parseOptions(['--only', 'nap'])).to.throw(/upgrade, startup, idle/)
  })
})
