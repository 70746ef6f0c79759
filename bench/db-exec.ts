/**
 * Commands inside the stack's db container through dockerode's exec: psql over the local socket for set-up
 * and checks, and whatever pgbench needs. Extra environment values are passed to the exec, never on a
 * command line.
 */
import {PassThrough} from 'node:stream'

import type Docker from 'dockerode'

import {DB_NAME, DB_USER} from '../src/lib/config/stack-config.js'

export interface ExecOutput {
  exitCode: number
  stdout: string
  stderr: string
}

export async function execIn(docker: Docker, containerId: string, cmd: string[], env: string[] = []) {
  const exec = await docker.getContainer(containerId).exec({Cmd: cmd, Env: env, AttachStdout: true, AttachStderr: true})
  const stream = await exec.start({hijack: true, stdin: false})
  const out = {stdout: [] as Buffer[], stderr: [] as Buffer[]}
  const stdout = new PassThrough().on('data', (chunk: Buffer) => out.stdout.push(chunk))
  const stderr = new PassThrough().on('data', (chunk: Buffer) => out.stderr.push(chunk))
  docker.modem.demuxStream(stream, stdout, stderr)
  await new Promise<void>((resolve, reject) => {
    stream.on('end', resolve)
    stream.on('close', resolve)
    stream.on('error', reject)
  })
  const info = await exec.inspect()
  const result: ExecOutput = {
    exitCode: info.ExitCode ?? 1,
    stdout: Buffer.concat(out.stdout).toString('utf8'),
    stderr: Buffer.concat(out.stderr).toString('utf8'),
  }
  if (result.exitCode !== 0) throw new Error(`${cmd[0]} in the db container failed: ${result.stderr.trim()}`)
  return result
}

/** Runs SQL with psql over the container's local socket; returns the unaligned, tuples-only output. */
export async function psql(docker: Docker, containerId: string, sql: string): Promise<string> {
  const cmd = ['psql', '-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', '-U', DB_USER, '-d', DB_NAME, '-c', sql]
  return (await execIn(docker, containerId, cmd)).stdout.trim()
}
