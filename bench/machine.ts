/** What the numbers were measured on, and how busy the machine was when the run started. */
import {cpus, loadavg, release, totalmem} from 'node:os'

import type {Engine} from '../src/lib/engine/engine.js'

import {runProcess} from './proc.js'
import type {MachineInfo} from './results.js'
import {round} from './stats.js'

export async function machineInfo(engine: Engine, ownProject: string): Promise<MachineInfo> {
  const described = await engine.describe()
  const compose = await runProcess('docker', ['compose', 'version', '--short'])
  const running = await engine.containers.list({runningOnly: true})
  const others = running.filter((c) => c.project !== ownProject)
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    kernel: release(),
    node: process.version,
    engine: described.version,
    engineApi: described.apiVersion,
    compose: compose.stdout.trim(),
    loadAtStart: round(loadavg()[0]),
    otherContainersAtStart: others.length,
  }
}
