/** Group commit: which calls share a batch, in which order results come back, and what a failed batch does. */
import {expect} from 'chai'

import {Batcher} from '../../src/api/batch.js'

/** A writer whose batches finish only when the test says so; results are (batch number, position). */
function controlledWriter() {
  const batches: Array<{count: number; finish: () => void; fail: (error: Error) => void}> = []
  const write = (count: number) =>
    new Promise<string[]>((resolve, reject) => {
      const n = batches.length
      batches.push({
        count,
        finish: () => resolve(Array.from({length: count}, (_, i) => `${n}.${i}`)),
        fail: reject,
      })
    })
  return {batches, write}
}

const tick = () => new Promise((resolve) => setImmediate(resolve))

describe('api batcher', () => {
  it('sends calls made together as one batch, and calls made meanwhile as the next one', async () => {
    const {batches, write} = controlledWriter()
    const batcher = new Batcher(write, {maxSize: 100, maxInFlight: 1})
    const first = [batcher.add(), batcher.add(), batcher.add()]
    await tick()
    expect(batches.map((b) => b.count)).to.deep.equal([3])
    const second = [batcher.add(), batcher.add()]
    await tick()
    expect(batches.map((b) => b.count)).to.deep.equal([3])
    expect(batcher.state).to.deep.equal({queued: 2, inFlight: 1})
    batches[0].finish()
    expect(await Promise.all(first)).to.deep.equal(['0.0', '0.1', '0.2'])
    await tick()
    expect(batches.map((b) => b.count)).to.deep.equal([3, 2])
    batches[1].finish()
    expect(await Promise.all(second)).to.deep.equal(['1.0', '1.1'])
    expect(batcher.state).to.deep.equal({queued: 0, inFlight: 0})
  })

  it('splits a queue longer than the largest batch, and runs up to maxInFlight batches at once', async () => {
    const {batches, write} = controlledWriter()
    const batcher = new Batcher(write, {maxSize: 2, maxInFlight: 2})
    const results = Promise.all(Array.from({length: 5}, () => batcher.add()))
    await tick()
    expect(batches.map((b) => b.count)).to.deep.equal([2, 2])
    batches[1].finish()
    await tick()
    await tick()
    expect(batches.map((b) => b.count)).to.deep.equal([2, 2, 1])
    batches[0].finish()
    batches[2].finish()
    expect(await results).to.deep.equal(['0.0', '0.1', '1.0', '1.1', '2.0'])
  })

  it('rejects every call of a failed batch with its error, and goes on with the next batch', async () => {
    const {batches, write} = controlledWriter()
    const batcher = new Batcher(write, {maxSize: 100, maxInFlight: 1})
    const failed = [batcher.add(), batcher.add()].map((p) => p.catch((error: unknown) => error))
    await tick()
    const later = batcher.add()
    const error = new Error('database unavailable')
    batches[0].fail(error)
    expect(await Promise.all(failed)).to.deep.equal([error, error])
    await tick()
    batches[1].finish()
    expect(await later).to.equal('1.0')
  })

  it('rejects a batch whose writer returned the wrong number of results', async () => {
    const batcher = new Batcher(() => Promise.resolve(['only one']), {maxSize: 100, maxInFlight: 1})
    const outcome = await Promise.all([batcher.add(), batcher.add()]).catch((error: unknown) => error)
    expect((outcome as Error).message).to.equal('a batch of 2 visits returned 1 results')
  })

  it('sends the batch that queued meanwhile before it answers the finished batch’s callers', async () => {
    const events: string[] = []
    const {batches, write} = controlledWriter()
    // As pg's pool: the statement goes out once the connection is handed over, on process.nextTick.
    const batcher = new Batcher(
      (count: number) =>
        new Promise<string[]>((resolve) =>
          process.nextTick(() => {
            events.push(`write ${count}`)
            resolve(write(count))
          }),
        ),
      {maxSize: 100, maxInFlight: 1},
    )
    const first = [batcher.add(), batcher.add()].map((p) => p.then((r) => events.push(`answer ${r}`)))
    await tick()
    const second = batcher.add().then((r) => events.push(`answer ${r}`))
    batches[0].finish()
    await Promise.all(first)
    expect(events).to.deep.equal(['write 2', 'write 1', 'answer 0.0', 'answer 0.1'])
    // Control: with nothing queued, the callers are answered at once (no turn of the event loop in between).
    events.length = 0
    batches[1].finish()
    await second
    expect(events).to.deep.equal(['answer 1.0'])
    expect(batcher.state).to.deep.equal({queued: 0, inFlight: 0})
  })
})
