import {expect} from 'chai'
import {Readable, Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import {ByteMeter} from '../../../src/lib/operations/backup-restore/backup.js'
import {FrameDemuxer} from '../../../src/lib/engine/frames.js'

function frame(type: number, payload: string): Buffer {
  const header = Buffer.alloc(8)
  header[0] = type
  header.writeUInt32BE(Buffer.byteLength(payload), 4)
  return Buffer.concat([header, Buffer.from(payload)])
}

async function demux(chunks: Buffer[]): Promise<{stdout: string; stderr: string}> {
  const out: Buffer[] = []
  const err: Buffer[] = []
  await pipeline(
    Readable.from(chunks),
    new FrameDemuxer((chunk) => err.push(chunk)),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        out.push(chunk)
        callback()
      },
    }),
  )
  return {stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString()}
}

describe('FrameDemuxer', () => {
  it('passes stdout on and hands stderr aside', async () => {
    const result = await demux([frame(1, 'hello '), frame(2, 'warning'), frame(1, 'world')])
    expect(result).to.deep.equal({stdout: 'hello world', stderr: 'warning'})
  })

  it('reassembles frames split anywhere, even inside the header', async () => {
    const whole = Buffer.concat([frame(1, 'abcdef'), frame(2, 'err'), frame(1, 'ghij')])
    for (let size = 1; size <= whole.length; size++) {
      const chunks: Buffer[] = []
      for (let offset = 0; offset < whole.length; offset += size) chunks.push(whole.subarray(offset, offset + size))
      expect(await demux(chunks)).to.deep.equal({stdout: 'abcdefghij', stderr: 'err'})
    }
  })

  it('keeps binary payloads byte for byte', async () => {
    const bytes = Buffer.from(Array.from({length: 70_000}, (_, i) => i % 256))
    const header = Buffer.alloc(8)
    header[0] = 1
    header.writeUInt32BE(bytes.length, 4)
    const out: Buffer[] = []
    await pipeline(
      Readable.from([header, bytes.subarray(0, 1000), bytes.subarray(1000)]),
      new FrameDemuxer(() => {}),
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          out.push(chunk)
          callback()
        },
      }),
    )
    expect(Buffer.concat(out).equals(bytes)).to.equal(true)
  })

  it('fails when the stream ends in the middle of a frame', async () => {
    const cut = frame(1, 'abcdef').subarray(0, 10)
    let failure: unknown
    await demux([cut]).catch((error) => (failure = error))
    expect(String(failure)).to.match(/ended mid-frame/)
  })
})

describe('ByteMeter', () => {
  it('counts and hashes what passes through', async () => {
    const meter = new ByteMeter(() => {})
    const out: Buffer[] = []
    await pipeline(
      Readable.from([Buffer.from('abc'), Buffer.from('def')]),
      meter,
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          out.push(chunk)
          callback()
        },
      }),
    )
    expect(Buffer.concat(out).toString()).to.equal('abcdef')
    expect(meter.bytes).to.equal(6)
    expect(meter.sha256()).to.equal('bef57ec7f53a6d40beb640a780a639c83bc29ac8a9816f1fc6c5c6dcd93c4721')
  })
})
