/**
 * Container-level helpers on top of dockerode: the stack's containers by Compose labels, their health,
 * log tails and one-shot exec. Everything reads; nothing here removes anything.
 */
import {PassThrough} from 'node:stream'

import type Docker from 'dockerode'

export interface ServiceContainer {
  id: string
  name: string
  service: string
  state: string
  /** healthy | unhealthy | starting | none */
  health: string
  /** stackctl's io.stackctl.mode label: normal | dev (absent on containers stackctl did not render) */
  mode?: string
  ports: Array<{hostIp?: string; hostPort?: number; containerPort: number}>
}

export function healthFromStatus(status: string): string {
  const match = /\((healthy|unhealthy|health: starting)\)/.exec(status)
  if (!match) return 'none'
  return match[1] === 'health: starting' ? 'starting' : match[1]
}

export async function projectContainers(docker: Docker, project: string): Promise<ServiceContainer[]> {
  const list = await docker.listContainers({all: true, filters: {label: [`com.docker.compose.project=${project}`]}})
  return list
    .map((c) => ({
      id: c.Id,
      name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
      service: c.Labels['com.docker.compose.service'] ?? '',
      state: c.State,
      health: c.State === 'running' ? healthFromStatus(c.Status) : 'none',
      mode: c.Labels['io.stackctl.mode'],
      ports: (c.Ports ?? []).map((p) => ({hostIp: p.IP, hostPort: p.PublicPort, containerPort: p.PrivatePort})),
    }))
    .sort((a, b) => a.service.localeCompare(b.service))
}

/** Finds any container (of any project) publishing the given host port. */
export async function containerPublishing(docker: Docker, port: number): Promise<string | undefined> {
  const list = await docker.listContainers({filters: {publish: [String(port)]}})
  return list[0]?.Names[0]?.replace(/^\//, '')
}

export interface ExecResult {
  exitCode: number
  stdout: string
  stderr: string
}

export async function execInContainer(docker: Docker, containerId: string, cmd: string[]): Promise<ExecResult> {
  const exec = await docker.getContainer(containerId).exec({Cmd: cmd, AttachStdout: true, AttachStderr: true})
  const stream = await exec.start({hijack: true, stdin: false})
  const stdout = collect()
  const stderr = collect()
  docker.modem.demuxStream(stream, stdout.sink, stderr.sink)
  await new Promise<void>((resolve, reject) => {
    stream.on('end', resolve)
    stream.on('close', resolve)
    stream.on('error', reject)
  })
  const info = await exec.inspect()
  return {exitCode: info.ExitCode ?? 1, stdout: stdout.text(), stderr: stderr.text()}
}

export async function logTail(docker: Docker, containerId: string, lines: number): Promise<string> {
  const buffer = (await docker.getContainer(containerId).logs({stdout: true, stderr: true, tail: lines})) as Buffer
  return demuxBuffer(buffer)
}

/** The last health-check output the engine recorded for a container, if it has a health check. */
export async function lastHealthOutput(docker: Docker, containerId: string): Promise<string | undefined> {
  const info = await docker.getContainer(containerId).inspect()
  const log = info.State.Health?.Log ?? []
  return log.at(-1)?.Output?.trim()
}

/** Non-TTY container logs come in 8-byte-header frames; keep only the payload. */
export function demuxBuffer(buffer: Buffer): string {
  const chunks: Buffer[] = []
  let offset = 0
  while (offset + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(offset + 4)
    const type = buffer[offset]
    if (type > 2 || buffer[offset + 1] !== 0) return buffer.toString('utf8') // not multiplexed (TTY container)
    chunks.push(buffer.subarray(offset + 8, offset + 8 + size))
    offset += 8 + size
  }
  return Buffer.concat(chunks).toString('utf8')
}

function collect() {
  const sink = new PassThrough()
  const parts: Buffer[] = []
  sink.on('data', (chunk: Buffer) => parts.push(chunk))
  return {sink, text: () => Buffer.concat(parts).toString('utf8')}
}
