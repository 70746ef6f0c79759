/** Pulling a registry image through the engine layer's docker CLI: quiet, bounded, and a refusal is an answer. */
import type {DockerCli} from '../docker-cli.js'

/** Resolves whether the image could be pulled (false when the registry cannot be reached). */
export function pullImage(docker: DockerCli, reference: string, timeoutMs = 120_000): Promise<boolean> {
  return docker.pull(reference, timeoutMs)
}
