/** `stackctl logs --target swarm`: `docker service logs` of the stack's services, through the manager. */
import {StackctlError} from '../../../errors.js'
import type {ServiceLogOptions} from '../../../engine/docker-cli.js'
import {assertManager, swarmCommand, type SwarmContext} from './context.js'

export async function swarmLogs(
  sw: SwarmContext,
  service: string | undefined,
  options: ServiceLogOptions & {onLine: (line: string) => void},
): Promise<void> {
  await assertManager(sw)
  const {project} = sw.stack.config
  const deployed = (await sw.manager.swarm.services(project)).map((s) => s.name)
  if (deployed.length === 0) {
    throw new StackctlError(`the stack '${project}' is not deployed on ${sw.target.endpoint}, so there are no logs`, {
      suggestion: `deploy it with ${swarmCommand(sw, 'up')}`,
    })
  }
  const wanted = (service ? [service] : ['db', 'app']).map((name) => `${project}_${name}`)
  const run = (name: string) =>
    sw.managerCli.serviceLogs(name, options, {
      onLine: options.onLine,
      buffer: !options.follow,
      timeoutMs: options.follow ? 0 : undefined,
    })
  // Followed logs of both services interleave as they come; a one-off read prints one service after the other.
  if (options.follow) await Promise.all(wanted.filter((n) => deployed.includes(n)).map(run))
  else for (const name of wanted.filter((n) => deployed.includes(n))) await run(name)
}
