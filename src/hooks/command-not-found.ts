/**
 * A mistyped command: say so with the closest commands, in one line, with or without a terminal, and exit 127
 * (what shells use for "command not found"). Never a prompt: a script that typed it wrong gets an answer, not
 * a question. With --json, the same as any failure: one error object.
 */
import type {Hook} from '@oclif/core'

import {JSON_SCHEMA_VERSION} from '../lib/cli/base-command.js'
import {suggestCommands} from '../lib/cli/suggest.js'

const hook: Hook.CommandNotFound = async function (options) {
  const {config} = options
  const hidden = new Set(config.commands.filter((c) => c.hidden).map((c) => c.id))
  const ids = [...config.commandIDs, ...config.commands.flatMap((c) => c.aliases)].filter((id) => !hidden.has(id))
  const typed = options.id.split(':').join(' ')
  const candidates = suggestCommands(
    typed,
    ids.map((id) => id.split(':').join(' ')),
  )
  const [topic] = options.id.split(':')
  const help = `${config.bin} help${config.findTopic(topic) ? ` ${topic}` : ''}`
  const message = `'${typed}' is not a ${config.bin} command${
    candidates.length > 0 ? `. Did you mean ${candidates.map((c) => `'${config.bin} ${c}'`).join(' or ')}?` : ''
  }`
  const suggestion = `run ${help} for the list of commands`
  if ((options.argv ?? []).includes('--json')) {
    process.stdout.write(
      `${JSON.stringify({schemaVersion: JSON_SCHEMA_VERSION, error: {message, exitCode: 127, suggestion}}, null, 2)}\n`,
    )
  } else {
    process.stderr.write(`Error: ${message}\nHint: ${suggestion}\n`)
  }
  this.exit(127)
}

export default hook
