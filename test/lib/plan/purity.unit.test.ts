/** Planners are pure: the lint zone rejects I/O in src/lib/plan (negative controls) and accepts what they need. */
import {expect} from 'chai'
import {ESLint} from 'eslint'
import path from 'node:path'

import {repoRoot} from '../../helpers/cli.js'

const eslint = new ESLint({cwd: repoRoot})

async function problems(file: string, code: string): Promise<string> {
  const [result] = await eslint.lintText(code, {filePath: path.join(repoRoot, file)})
  return result.messages.map((m) => `${m.ruleId}: ${m.message}`).join('\n')
}

describe('planners are pure (lint zone)', function () {
  this.timeout(30_000)

  it('rejects a planner importing the engine implementation, Compose, files, a process or node I/O', async () => {
    for (const code of [
      "export {createEngine} from '../engine/dockerode-engine.js'\n",
      "export {runningService} from '../engine/services.js'\n",
      "export {readOptional} from '../model/stackdir/files.js'\n",
      "export {upStack} from '../targets/compose/up.js'\n",
    ]) {
      expect(await problems('src/lib/plan/x.ts', code), code).to.match(/no-restricted-paths: .*a planner is pure/)
    }
    expect(await problems('src/lib/plan/x.ts', "export {readFile} from 'node:fs/promises'\n")).to.match(
      /no-restricted-imports: .*no I\/O module/,
    )
    expect(await problems('src/lib/plan/x.ts', "export {observeProject} from './observe.js'\n")).to.match(
      /it does not take one/,
    )
  })

  it('accepts the engine’s types, the other planners and pure decisions; observe.ts may use the engine', async () => {
    expect(await problems('src/lib/plan/x.ts', "export type {ProjectSnapshot} from '../engine/engine.js'\n")).to.equal(
      '',
    )
    expect(await problems('src/lib/plan/x.ts', "export {planUp} from './up.js'\n")).to.equal('')
    expect(await problems('src/lib/plan/x.ts', "export {chooseDbNode} from '../targets/swarm/db-node.js'\n")).to.equal(
      '',
    )
    expect(await problems('src/lib/plan/observe.ts', "export {readFile} from 'node:fs/promises'\n")).to.equal('')
  })
})
