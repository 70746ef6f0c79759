/**
 * The import direction is enforced by the lint rule that runs in `npm test`: these run ESLint with the
 * project's own configuration on code that imports the wrong way (the negative controls), and on the same
 * imports in the right direction.
 */
import {expect} from 'chai'
import {ESLint} from 'eslint'
import path from 'node:path'

import {repoRoot} from '../helpers/cli.js'

const eslint = new ESLint({cwd: repoRoot})

async function problems(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, {filePath: path.join(repoRoot, file)})
  return result.messages.map((m) => `${m.ruleId}: ${m.message}`)
}

describe('import layers (lint rule)', function () {
  this.timeout(30_000)

  it('rejects infrastructure importing an operation (engine → stack)', async () => {
    const found = await problems('src/lib/engine/reversed.ts', "export {upStack} from '../stack/up.js'\n")
    expect(found.join('\n')).to.match(/no-restricted-paths: .*never imports an operation/)
  })

  it('rejects the process runner importing anything but the errors', async () => {
    const found = await problems(
      'src/lib/process/reversed.ts',
      "export {volumeName} from '../config/stack-config.js'\n",
    )
    expect(found.join('\n')).to.match(/no-restricted-paths: .*depends on nothing but the errors/)
  })

  it('rejects the library importing a command, and dockerode or execa outside their one module', async () => {
    expect((await problems('src/lib/stack/x.ts', "export {default} from '../../commands/up.js'\n")).join()).to.match(
      /never imports a command/,
    )
    expect((await problems('src/lib/stack/x.ts', "export {default} from 'dockerode'\n")).join()).to.match(
      /use the Engine interface/,
    )
    expect((await problems('src/lib/volume/x.ts', "export {execa} from 'execa'\n")).join()).to.match(
      /use the process runner/,
    )
  })

  it('accepts the same kinds of imports in the right direction', async () => {
    expect(
      await problems('src/lib/stack/x.ts', "export {runningService} from '../engine/services.js'\n"),
    ).to.deep.equal([])
    expect(await problems('src/commands/x.ts', "export {upStack} from '../lib/stack/up.js'\n")).to.deep.equal([])
  })
})
