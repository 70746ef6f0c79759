/** Pulling a registry image through the process runner: quiet, bounded, and a refusal is an answer. */
import {run} from '../process/run.js'

/** `docker pull --quiet REFERENCE`: quiet, so a pull is one line of output, not a progress stream. */
export function pullArgs(reference: string): string[] {
  return ['pull', '--quiet', reference]
}

/** Resolves whether the image could be pulled (false when the registry cannot be reached). */
export async function pullImage(reference: string, timeoutMs = 120_000): Promise<boolean> {
  return (await run('docker', pullArgs(reference), {reject: false, timeoutMs})).exitCode === 0
}
