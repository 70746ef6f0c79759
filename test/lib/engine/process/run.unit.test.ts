import {expect} from 'chai'

import {CommandNotFound, Interrupted, ProcessFailed, ProcessTimedOut} from '../../../../src/lib/errors.js'
import {run, runPipe} from '../../../../src/lib/engine/process/run.js'

const node = process.execPath

async function failure(work: Promise<unknown>): Promise<unknown> {
  return work.then(
    () => 'resolved',
    (error: unknown) => error,
  )
}

describe('the process runner', () => {
  it('returns output and exit code, and turns a non-zero exit into ProcessFailed with the output tail', async () => {
    expect(await run(node, ['-e', 'console.log("hi")'])).to.deep.equal({stdout: 'hi', stderr: '', exitCode: 0})
    const error = await failure(run(node, ['-e', 'console.error("broken"); process.exit(3)']))
    expect(error).to.be.instanceOf(ProcessFailed)
    expect((error as ProcessFailed).processExitCode).to.equal(3)
    expect((error as ProcessFailed).message).to.include('broken')
    expect((await run(node, ['-e', 'process.exit(4)'], {reject: false})).exitCode).to.equal(4)
  })

  it('reports a timeout as a timeout, not as Ctrl-C (exit 130) with an undefined exit code', async () => {
    const error = await failure(run(node, ['-e', 'setTimeout(() => {}, 10000)'], {timeoutMs: 200}))
    expect(error).to.be.instanceOf(ProcessTimedOut)
    expect((error as ProcessTimedOut).exitCode).to.equal(1)
    expect((error as ProcessTimedOut).message).to.match(/took longer than 200 ms and was stopped/)
  })

  it('reports a cancelled process as Interrupted, and a missing program as CommandNotFound', async () => {
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 100)
    const error = await failure(run(node, ['-e', 'setTimeout(() => {}, 10000)'], {signal: controller.signal}))
    expect(error).to.be.instanceOf(Interrupted)
    expect((error as Interrupted).exitCode).to.equal(130)
    expect(await failure(run('stackctl-no-such-program', []))).to.be.instanceOf(CommandNotFound)
  })

  it('streams a pipe without a shell and fails with both sides’ messages', async () => {
    const piped = await runPipe(
      {command: node, args: ['-e', 'process.stdout.write("x".repeat(1 << 20))']},
      {
        command: node,
        args: ['-e', 'let n = 0; process.stdin.on("data", (c) => (n += c.length)).on("end", () => console.log(n))'],
      },
    )
    expect(piped.stdout).to.equal(String(1 << 20))
    const error = await failure(
      runPipe(
        {command: node, args: ['-e', 'console.error("source broke"); process.exit(2)']},
        {command: node, args: ['-e', 'process.exit(5)']},
      ),
    )
    expect(error).to.be.instanceOf(ProcessFailed)
    expect((error as ProcessFailed).message).to.include('source broke')
  })
})
