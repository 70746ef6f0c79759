/**
 * Streaming I/O with processes inside containers, through dockerode only: an exec whose stdin is fed from a
 * stream and whose stdout goes to a stream (a dump never sits in memory whole), and a short-lived container
 * for reading a volume. Both honour backpressure.
 */
import {PassThrough, type Readable, Transform, type TransformCallback, type Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import createDebug from 'debug'
import type Docker from 'dockerode'

const debug = createDebug('stackctl:volume')

/** stderr is for messages; keep its tail bounded whatever a process prints. */
const STDERR_LIMIT = 64 * 1024

/**
 * Splits Docker's multiplexed stream (8-byte header: type, 0, 0, 0, big-endian length) into stdout, which
 * this transform passes on, and stderr, which goes to `onStderr`. Frames may be split across chunks.
 */
export class FrameDemuxer extends Transform {
  private pending: Buffer = Buffer.alloc(0)
  private remaining = 0
  private type = 0

  constructor(private readonly onStderr: (chunk: Buffer) => void) {
    super()
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk
    this.pending = Buffer.alloc(0)
    while (data.length > 0) {
      if (this.remaining === 0) {
        if (data.length < 8) {
          this.pending = Buffer.from(data)
          break
        }
        this.type = data[0]
        this.remaining = data.readUInt32BE(4)
        data = data.subarray(8)
        continue
      }
      const take = Math.min(this.remaining, data.length)
      const payload = data.subarray(0, take)
      if (this.type === 2) this.onStderr(Buffer.from(payload))
      else if (this.type === 1) this.push(payload)
      this.remaining -= take
      data = data.subarray(take)
    }
    callback()
  }

  override _flush(callback: TransformCallback): void {
    callback(this.pending.length > 0 || this.remaining > 0 ? new Error('the container output ended mid-frame') : null)
  }
}

export interface StreamExecOptions {
  /** Fed to the process's stdin, which is closed at its end. */
  stdin?: Readable
  /** Receives the process's stdout; without it stdout is collected as text. */
  stdout?: Writable
}

export interface StreamExecResult {
  exitCode: number
  stdout: string
  stderr: string
}

export async function execStream(
  docker: Docker,
  containerId: string,
  cmd: string[],
  options: StreamExecOptions = {},
): Promise<StreamExecResult> {
  debug('exec %s', cmd.join(' '))
  const exec = await docker.getContainer(containerId).exec({
    Cmd: cmd,
    AttachStdin: Boolean(options.stdin),
    AttachStdout: true,
    AttachStderr: true,
  })
  const socket = (await exec.start({hijack: true, stdin: Boolean(options.stdin)})) as NodeJS.ReadWriteStream &
    Writable &
    Readable
  const stderr = new BoundedText(STDERR_LIMIT)
  const collected = new BoundedText(Number.POSITIVE_INFINITY)
  const sink = options.stdout ?? collectInto(collected)
  const feeding = options.stdin ? feed(options.stdin, socket) : Promise.resolve()
  const reading = pipeline(socket, new FrameDemuxer((chunk) => stderr.add(chunk)), sink)
  const [fed, read] = await Promise.allSettled([feeding, reading])
  const exitCode = await exitCodeOf(exec)
  debug('exit %d %s', exitCode, cmd[0])
  // A process that stops reading early (it failed, or it needed only the head) breaks the pipe: its exit
  // code says what happened. A broken stream of a process that succeeded is a real failure.
  if (exitCode === 0) {
    if (read.status === 'rejected') throw read.reason
    if (fed.status === 'rejected') throw fed.reason
  }
  return {exitCode, stdout: collected.text(), stderr: stderr.text()}
}

/** Pipes `source` into the exec's stdin and half-closes it at the end so the process sees EOF. */
function feed(source: Readable, socket: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => {
      source.destroy()
      reject(error)
    }
    source.once('error', fail)
    socket.once('error', fail)
    source.once('end', () => {
      socket.end()
      resolve()
    })
    source.pipe(socket, {end: false})
  })
}

async function exitCodeOf(exec: Docker.Exec): Promise<number> {
  // The stream can close a moment before the engine records the exit.
  for (let attempt = 0; attempt < 50; attempt++) {
    const info = await exec.inspect()
    if (!info.Running) return info.ExitCode ?? 1
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return 1
}

function collectInto(target: BoundedText): Writable {
  const sink = new PassThrough()
  sink.on('data', (chunk: Buffer) => target.add(chunk))
  return sink
}

class BoundedText {
  private parts: Buffer[] = []
  private size = 0

  constructor(private readonly limit: number) {}

  add(chunk: Buffer): void {
    this.parts.push(chunk)
    this.size += chunk.length
    while (this.size > this.limit && this.parts.length > 1) this.size -= this.parts.shift()!.length
  }

  text(): string {
    return Buffer.concat(this.parts).toString('utf8')
  }
}

export interface OneShotOptions {
  image: string
  entrypoint: string[]
  cmd: string[]
  /** Volumes to mount read-only: volume name → path inside the container. */
  readOnlyVolumes: Record<string, string>
}

/**
 * Runs a short-lived container with no network and the given volumes mounted read-only, and returns its
 * output. The engine removes it when it exits (and we do, should it never start).
 */
export async function runOneShot(docker: Docker, options: OneShotOptions): Promise<StreamExecResult> {
  const container = await docker.createContainer({
    Image: options.image,
    Entrypoint: options.entrypoint,
    Cmd: options.cmd,
    User: '0:0',
    NetworkDisabled: true,
    HostConfig: {
      AutoRemove: true,
      NetworkMode: 'none',
      Mounts: Object.entries(options.readOnlyVolumes).map(([source, target]) => ({
        Type: 'volume' as const,
        Source: source,
        Target: target,
        ReadOnly: true,
      })),
    },
  })
  debug('one-shot %s %s', container.id.slice(0, 12), [...options.entrypoint, ...options.cmd].join(' '))
  try {
    const stream = (await container.attach({stream: true, stdout: true, stderr: true})) as NodeJS.ReadableStream
    const stdout = new BoundedText(STDERR_LIMIT)
    const stderr = new BoundedText(STDERR_LIMIT)
    const reading = pipeline(stream, new FrameDemuxer((chunk) => stderr.add(chunk)), collectInto(stdout))
    // Registered before the start so the end cannot be missed: resolves once the engine has removed it (so
    // the volume is free again); a container already gone reads as an unknown exit code.
    const waiting = (container.wait({condition: 'removed'}) as Promise<{StatusCode?: number}>).catch(() => ({
      StatusCode: undefined,
    }))
    await container.start()
    const [{StatusCode}] = await Promise.all([waiting, reading])
    return {exitCode: StatusCode ?? -1, stdout: stdout.text(), stderr: stderr.text()}
  } finally {
    await removeAndWait(container)
  }
}

/** Removes a container that may never have started, or waits for the engine's own removal to finish. */
async function removeAndWait(container: Docker.Container): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      await container.remove({force: true, v: true})
      return
    } catch (error) {
      if ((error as {statusCode?: number}).statusCode === 404) return
    }
    await new Promise((resolve) => setTimeout(resolve, 100)) // removal in progress
  }
}
