/**
 * What the one-container-per-data-directory tests of the database images share: a volume of their own, polling a
 * container until a condition holds, a command's output in it, and a server holding a volume with a second
 * container waiting for it.
 */
import {setTimeout as sleep} from 'node:timers/promises'

import {type Cleanup, docker, engine, uniqueName} from '../../../helpers/docker.js'

/** A new named volume, removed by `cleanup`. */
export async function newVolume(cleanup: Cleanup, prefix: string): Promise<string> {
  const name = cleanup.volume(uniqueName(prefix))
  await docker.createVolume({Name: name})
  return name
}

export const logs = (name: string): Promise<string> => engine.containers.logTail(name, 50)

/**
 * A first container serving `volume` (`serving` says when), then a second one on it, once it says `waiting`.
 */
export async function holderAndWaiter(
  volume: string,
  start: (volume: string) => Promise<string>,
  serving: (name: string) => Promise<boolean>,
  waiting: string,
): Promise<{first: string; second: string}> {
  const first = await start(volume)
  await until(`${first} serves its volume`, () => serving(first))
  const second = await start(volume)
  await until(`${second} says it waits`, async () => (await logs(second)).includes(waiting))
  return {first, second}
}

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
