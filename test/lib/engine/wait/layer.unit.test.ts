/** The wait module is infrastructure: the lint rule in `npm test` refuses an import of an operation from it. */
import {expect} from 'chai'
import {ESLint} from 'eslint'
import path from 'node:path'

import {repoRoot} from '../../../helpers/cli.js'

describe('wait module layer (lint rule)', function () {
  this.timeout(30_000)
  const eslint = new ESLint({cwd: repoRoot})
  const problems = async (code: string) => {
    const [result] = await eslint.lintText(code, {filePath: path.join(repoRoot, 'src/lib/engine/wait/x.ts')})
    return result.messages.map((m) => `${m.ruleId}: ${m.message}`).join('\n')
  }

  it('rejects the wait module importing an operation', async () => {
    expect(await problems("export {upStack} from '../../targets/compose/up.js'\n")).to.match(
      /never imports an operation/,
    )
  })

  it('accepts it importing infrastructure (control)', async () => {
    expect(await problems("export {StackctlError} from '../../errors.js'\n")).to.equal('')
  })
})
