/** Commands stackctl prints for the user to run: each must work when pasted as printed. */
import path from 'node:path'

import {DEFAULTS, type StackConfig} from './stack-config.js'

/** An argument, quoted only when the shell would split or expand it. */
export function shellQuote(argument: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(argument) ? argument : `'${argument.replaceAll("'", `'\\''`)}'`
}

/**
 * `stackctl VERB …` addressed to this stack: with `--dir` unless the stack directory is the one a command run
 * here would use anyway (./.stackctl), and with `--project-name` unless it is the default. Without them a hint
 * printed for `status --dir D -p P` would act on another stack (or on none) when pasted elsewhere.
 */
export function stackCommand(
  config: Pick<StackConfig, 'dir' | 'project'>,
  verb: string,
  options: {cwd?: string} = {},
): string {
  const words = ['stackctl', verb]
  if (path.resolve(config.dir) !== path.resolve(options.cwd ?? process.cwd(), DEFAULTS.dir)) {
    words.push('--dir', shellQuote(config.dir))
  }
  if (config.project !== DEFAULTS.project) words.push('--project-name', shellQuote(config.project))
  return words.join(' ')
}

/** How a hint names a command: addressed to one stack (commandsFor), or plain where no stack is known. */
export type CommandFor = (verb: string) => string
export const plainCommand: CommandFor = (verb) => `stackctl ${verb}`

export function commandsFor(config: Pick<StackConfig, 'dir' | 'project'>): CommandFor {
  return (verb) => stackCommand(config, verb)
}
