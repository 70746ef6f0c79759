/**
 * Help text as oclif prints it: a description's paragraphs are wrapped by oclif to the terminal, so a line
 * break inside a paragraph shows as a sentence broken in the middle. Every command has a summary.
 */
import {expect} from 'chai'
import {readdirSync} from 'node:fs'
import path from 'node:path'
import {pathToFileURL} from 'node:url'

import {repoRoot} from '../helpers/cli.js'

function commandFiles(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((entry) =>
    entry.isDirectory() ? commandFiles(path.join(dir, entry.name)) : [path.join(dir, entry.name)],
  )
}

/** Line breaks inside a paragraph: between two non-empty lines, the second not a list item or indented. */
export function brokenLines(text: string): string[] {
  const lines = text.split('\n')
  return lines.slice(1).flatMap((line, i) => {
    const before = lines[i]
    return before.trim() && line.trim() && !/^\s*([-*•]|\d+\.|\s{2})/.test(line) ? [`${before} ⏎ ${line}`] : []
  })
}

describe('help text of every command', function () {
  this.timeout(60_000)
  const files = commandFiles(path.join(repoRoot, 'src', 'commands')).filter(
    (file) => file.endsWith('.ts') && path.basename(file) !== 'index.ts', // index.ts lists the commands
  )

  it('finds a line broken inside a paragraph (the check itself)', () => {
    expect(brokenLines('One sentence that goes\non here.\n\nA new paragraph:\n- a list item')).to.have.length(1)
    expect(brokenLines('One paragraph.\n\nAnother.\n  indented example')).to.deep.equal([])
  })

  it('has a summary and no description paragraph broken across lines', async () => {
    expect(files.length).to.be.greaterThan(20)
    for (const file of files) {
      const command = (await import(pathToFileURL(file).href)).default as {summary?: string; description?: string}
      const name = path.relative(repoRoot, file)
      expect(command.summary, `${name} has no summary`).to.be.a('string').and.not.equal('')
      expect(brokenLines(command.description ?? ''), name).to.deep.equal([])
    }
  })
})
