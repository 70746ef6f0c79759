/** What the numbers were measured on, and how busy the machine was when the run started. */
import {cpus, loadavg, release, totalmem} from 'node:os'

import type Docker from 'dockerode'

import {runProcess} from './proc.js'
import type {MachineInfo} from './results.js'
import {round} from './stats.js'

export async function machineInfo(docker: Docker, ownProject: string): Promise<MachineInfo> {
  const engine = await docker.version()
  const compose = await runProcess('docker', ['compose', 'version', '--short'])
  const running = await docker.listContainers()
  const others = running.filter((c) => c.Labels['com.docker.compose.project'] !== ownProject)
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    kernel: release(),
    node: process.version,
    engine: engine.Version,
    engineApi: engine.ApiVersion,
    compose: compose.stdout.trim(),
    loadAtStart: round(loadavg()[0]),
    otherContainersAtStart: others.length,
  }
}
