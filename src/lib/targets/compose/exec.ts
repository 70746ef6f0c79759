/**
 * A process in one of the running stack's containers, attached to the user's terminal or pipes: `stackctl
 * exec` and `stackctl psql` both run through here. The process's exit code is the result.
 */
import {stackCommand} from '../../model/config/command-line.js'
import {StackctlError} from '../../errors.js'
import type {StackContext} from '../../stack/context.js'
import {claimStack} from '../../stack/ownership.js'
import {SERVICES} from '../../stack/status.js'

export type ServiceName = (typeof SERVICES)[number]

/** The service's container must be running: the hint starts the stack, addressed to this one. */
export async function execInService(
  ctx: StackContext,
  service: ServiceName,
  command: readonly string[],
  options: {tty: boolean; action: string},
): Promise<number> {
  await ctx.engine.ping()
  await claimStack(ctx)
  const containers = await ctx.engine.containers.list({project: ctx.config.project, service})
  const container = containers.find((c) => c.state === 'running')
  if (!container) {
    const found = containers[0]
    throw new StackctlError(
      `cannot ${options.action}: the stack '${ctx.config.project}' is not running${found ? ` (${service} is ${found.state})` : ''}`,
      {exitCode: 1, suggestion: `start it with ${stackCommand(ctx.config, 'up')}`},
    )
  }
  return ctx.docker.execInteractive(container.id, command, options.tty)
}
