/**
 * What the one-container-per-data-directory tests of the database images share: polling a container until a
 * condition holds, and a command's output in it.
 */
import {setTimeout as sleep} from 'node:timers/promises'

import {docker} from '../../../helpers/docker.js'

/** Polls `look` every 250 ms until it holds (a look that throws counts as not yet); fails after 60 s. */
export async function until(what: string, look: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000
  while (!(await look().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`not within 60 s: ${what}`)
    await sleep(250)
  }
}

/** Runs `cmd` in the container; its raw output (stream frames included) and exit code. */
export async function execIn(name: string, cmd: string[]): Promise<{output: string; exitCode: number | null}> {
  const exec = await docker.getContainer(name).exec({Cmd: cmd, AttachStdout: true})
  const stream = await exec.start({hijack: true, stdin: false})
  const chunks: Buffer[] = []
  stream.on('data', (chunk: Buffer) => chunks.push(chunk))
  await new Promise((resolve) => stream.on('end', resolve))
  return {output: Buffer.concat(chunks).toString('latin1'), exitCode: (await exec.inspect()).ExitCode}
}
