/**
 * Docker's multiplexed stream format (non-TTY exec and logs): frames of an 8-byte header — stream type
 * (1 stdout, 2 stderr), three zero bytes, a big-endian length — and the payload. Pure helpers, no I/O.
 */
import {Transform, type TransformCallback} from 'node:stream'

/**
 * Splits the stream into stdout, which this transform passes on, and stderr, which goes to `onStderr`.
 * Frames may be split across chunks.
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

/** A whole multiplexed buffer (a log tail) → its payload as text; a TTY container's plain output as it is. */
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

/** Keeps text up to a byte limit, dropping the oldest parts first (the tail is what explains a failure). */
export class BoundedText {
  private parts: Buffer[] = []
  private size = 0
  truncated = false

  constructor(
    private readonly limit: number,
    private readonly keep: 'head' | 'tail' = 'tail',
  ) {}

  add(chunk: Buffer): void {
    if (this.keep === 'head') {
      const room = this.limit - this.size
      if (room <= 0) {
        this.truncated = true
        return
      }
      if (chunk.length > room) this.truncated = true
      const kept = chunk.subarray(0, room)
      this.parts.push(kept)
      this.size += kept.length
      return
    }
    this.parts.push(chunk)
    this.size += chunk.length
    while (this.size > this.limit && this.parts.length > 1) {
      this.size -= this.parts.shift()!.length
      this.truncated = true
    }
  }

  text(): string {
    return Buffer.concat(this.parts).toString('utf8')
  }
}

/** Health as Docker's container list puts it in Status: "Up 3 minutes (healthy)". */
export function healthFromStatus(status: string): 'healthy' | 'unhealthy' | 'starting' | 'none' {
  const match = /\((healthy|unhealthy|health: starting)\)/.exec(status)
  if (!match) return 'none'
  return match[1] === 'health: starting' ? 'starting' : (match[1] as 'healthy' | 'unhealthy')
}
