import {expect} from 'chai'

import {backoffDelay, retry} from '../../src/api/retry.js'

describe('retry with exponential backoff and jitter', () => {
  const options = {initialMs: 100, maxMs: 1000}

  it('doubles the step per attempt, caps it, and jitters between half and all of it', () => {
    expect([1, 2, 3, 4, 5, 10].map((attempt) => backoffDelay(attempt, options, () => 1))).to.deep.equal([
      100, 200, 400, 800, 1000, 1000,
    ])
    expect([1, 2, 3, 4, 5].map((attempt) => backoffDelay(attempt, options, () => 0))).to.deep.equal([
      50, 100, 200, 400, 500,
    ])
  })

  it('retries retryable errors until the task succeeds, reporting each retry', async () => {
    const retries: number[] = []
    let calls = 0
    const result = await retry(
      async () => {
        if (++calls < 3) throw new Error('not yet')
        return 'done'
      },
      {backoff: {initialMs: 1, maxMs: 2}, retryable: () => true, onRetry: (_e, attempt) => retries.push(attempt)},
    )
    expect(result).to.equal('done')
    expect(retries).to.deep.equal([1, 2])
  })

  it('throws a non-retryable error at once', async () => {
    let calls = 0
    const failure = new Error('fatal')
    const outcome = await retry(
      async () => {
        calls++
        throw failure
      },
      {retryable: () => false, onRetry: () => {}},
    ).catch((error: unknown) => error)
    expect(outcome).to.equal(failure)
    expect(calls).to.equal(1)
  })

  it('stops waiting when aborted', async () => {
    const abort = new AbortController()
    setTimeout(() => abort.abort(new Error('stopping')), 20)
    const started = Date.now()
    const outcome = await retry(() => Promise.reject(new Error('down')), {
      backoff: {initialMs: 10_000, maxMs: 10_000},
      retryable: () => true,
      onRetry: () => {},
      signal: abort.signal,
    }).catch((error: unknown) => error)
    expect(outcome).to.have.property('message', 'stopping')
    expect(Date.now() - started).to.be.below(2000)
  })
})
