import {readdirSync} from 'node:fs'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {join} from 'node:path'

import {expect} from 'chai'

import {COMMANDS} from '../../src/commands/index.js'

const commandsDir = fileURLToPath(new URL('../../src/commands/', import.meta.url))

/** Each command file's oclif id (`db/upgrade.ts` → `db:upgrade`), as oclif's directory discovery named them. */
function commandFiles(): Map<string, string> {
  const files = readdirSync(commandsDir, {recursive: true, encoding: 'utf8'}).filter(
    (file) => file.endsWith('.ts') && file !== 'index.ts',
  )
  return new Map(files.map((file) => [file.slice(0, -'.ts'.length).split('/').join(':'), join(commandsDir, file)]))
}

describe('src/commands/index.ts (what oclif loads)', () => {
  it('lists every command file under its id, and nothing else', () => {
    const files = commandFiles()
    expect(files.size, 'command files found').to.be.greaterThan(20)
    expect(Object.keys(COMMANDS).sort()).to.deep.equal([...files.keys()].sort())
  })

  it('maps each id to the class its file exports', async () => {
    for (const [id, file] of commandFiles()) {
      const module = (await import(pathToFileURL(file).href)) as {default: unknown}
      expect(COMMANDS[id as keyof typeof COMMANDS], id).to.equal(module.default)
    }
  })
})
