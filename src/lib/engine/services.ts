/** The stack's containers as Compose labels them: one lookup for "the running db", used everywhere. */
import type {ContainerSummary, Engine} from './engine.js'

/** The running container of a Compose service, or undefined when there is none. */
export async function runningService(
  engine: Engine,
  project: string,
  service: string,
): Promise<ContainerSummary | undefined> {
  const [container] = await engine.containers.list({project, service, runningOnly: true})
  return container
}

/** stackctl's io.stackctl.mode label: normal | dev (absent on containers stackctl did not render). */
export function serviceMode(container: ContainerSummary): string | undefined {
  return container.labels['io.stackctl.mode']
}
