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

  it('rejects infrastructure importing an operation (engine → targets/compose, model → stack)', async () => {
    const found = await problems('src/lib/engine/reversed.ts', "export {upStack} from '../targets/compose/up.js'\n")
    expect(found.join('\n')).to.match(/no-restricted-paths: .*never imports an operation/)
  })

  it('rejects making a DockerCli anywhere but the engine factory (the composition root)', async () => {
    const code = "import {DockerCli} from '../../engine/docker-cli.js'\nexport const cli = new DockerCli()\n"
    expect((await problems('src/lib/targets/compose/x.ts', code)).join()).to.match(
      /no-restricted-syntax: get the docker CLI from the EngineFactory/,
    )
    const inCommand =
      "import {DockerCli} from '../lib/engine/docker-cli.js'\nexport const cli = new DockerCli('unix:///x')\n"
    expect((await problems('src/commands/x.ts', inCommand)).join()).to.match(/only factory\.ts makes one/)
    // The control: the factory itself, and a type-only use elsewhere.
    expect(
      await problems(
        'src/lib/engine/factory.ts',
        "import {DockerCli} from './docker-cli.js'\nexport const make = () => new DockerCli()\n",
      ),
    ).to.deep.equal([])
    expect(
      await problems(
        'src/lib/targets/compose/x.ts',
        "import type {DockerCli} from '../../engine/docker-cli.js'\nexport type T = DockerCli\n",
      ),
    ).to.deep.equal([])
  })

  it('rejects the process runner importing anything but the errors', async () => {
    const found = await problems(
      'src/lib/engine/process/reversed.ts',
      "export {volumeName} from '../../model/config/stack-config.js'\n",
    )
    expect(found.join('\n')).to.match(/no-restricted-paths: .*depends on nothing but the errors/)
  })

  it('rejects the library importing a command, and dockerode or execa outside their one module', async () => {
    expect(
      (await problems('src/lib/targets/compose/x.ts', "export {default} from '../../../commands/up.js'\n")).join(),
    ).to.match(/never imports a command/)
    expect((await problems('src/lib/stack/x.ts', "export {default} from 'dockerode'\n")).join()).to.match(
      /use the Engine interface/,
    )
    expect((await problems('src/lib/operations/backup-restore/x.ts', "export {execa} from 'execa'\n")).join()).to.match(
      /use the process runner/,
    )
  })

  it('rejects node:child_process (either spelling) in src/lib outside the process runner', async () => {
    for (const name of ['node:child_process', 'child_process']) {
      const found = await problems('src/lib/stack/x.ts', `export {spawn} from '${name}'\n`)
      expect(found.join('\n')).to.match(/no-restricted-imports: .*through the process runner/)
    }
    // Control: the process runner itself may.
    expect(await problems('src/lib/engine/process/run.ts', "export {spawn} from 'node:child_process'\n")).to.deep.equal(
      [],
    )
  })

  it('rejects pg in src/lib (the API may use it)', async () => {
    const found = await problems('src/lib/operations/db/x.ts', "export {default} from 'pg'\n")
    expect(found.join('\n')).to.match(/no-restricted-imports: .*never pg/)
    expect(await problems('src/api/x.ts', "export {default} from 'pg'\n")).to.deep.equal([])
  })

  it("rejects the CLI importing the API's code, the /healthz contract aside", async () => {
    const found = await problems('src/lib/targets/compose/x.ts', "export {serve} from '../../../api/server.js'\n")
    expect(found.join('\n')).to.match(/no-restricted-paths: .*the CLI does not import the API/)
    // Control: the import-free contract both sides read.
    const contract = "export {healthzReason} from '../../../api/healthz-protocol.js'\n"
    expect(await problems('src/lib/targets/compose/x.ts', contract)).to.deep.equal([])
  })

  it('rejects a command importing the dockerode engine or the process runner', async () => {
    const engine = await problems(
      'src/commands/x.ts',
      "export {createEngine} from '../lib/engine/dockerode-engine.js'\n",
    )
    expect(engine.join('\n')).to.match(/no-restricted-paths: .*receives its engines from the base command/)
    const runner = await problems('src/commands/db/x.ts', "export {run} from '../../lib/engine/process/run.js'\n")
    expect(runner.join('\n')).to.match(/no-restricted-paths: .*receives its engines from the base command/)
    // Control: the Engine interface is what a command may name.
    expect(await problems('src/commands/x.ts', "export type {Engine} from '../lib/engine/engine.js'\n")).to.deep.equal(
      [],
    )
  })

  it('rejects the library creating engines outside the engine layer and the composition root', async () => {
    const found = await problems(
      'src/lib/targets/compose/x.ts',
      "export {createEngine} from '../../engine/dockerode-engine.js'\n",
    )
    expect(found.join('\n')).to.match(/no-restricted-paths: .*only the engine layer and the composition root/)
    expect(
      await problems('src/lib/cli/base-command.ts', "export {createEngine} from '../engine/dockerode-engine.js'\n"),
    ).to.deep.equal([])
    expect(await problems('src/lib/engine/x.ts', "export {createEngine} from './dockerode-engine.js'\n")).to.deep.equal(
      [],
    )
  })

  it('rejects the process runner outside the engine layer: docker goes through its typed verbs', async () => {
    const found = await problems('src/lib/targets/compose/x.ts', "export {run} from '../../engine/process/run.js'\n")
    expect(found.join('\n')).to.match(/no-restricted-imports: .*through the engine layer/)
    expect(await problems('src/lib/engine/images/x.ts', "export {run} from '../process/run.js'\n")).to.not.deep.equal(
      [],
    )
    // The engine's Compose client goes through docker-cli.ts too.
    expect(
      await problems('src/lib/engine/compose-client.ts', "export {run} from './process/run.js'\n"),
    ).to.not.deep.equal([])
    // Control: the engine layer builds on it.
    expect(await problems('src/lib/engine/x.ts', "export {run} from './process/run.js'\n")).to.deep.equal([])
  })

  it('rejects the pure pieces beside the operations (renderers, swarm choices, db) importing an operation', async () => {
    const render = await problems('src/lib/targets/swarm/render.ts', "export {upStack} from '../compose/up.js'\n")
    expect(render.join('\n')).to.match(/no-restricted-paths: .*a renderer, a pure swarm choice or db/)
    const db = await problems('src/lib/operations/db/x.ts', "export {verifyPersistence} from '../verify/verify.js'\n")
    expect(db.join('\n')).to.match(/no-restricted-paths: .*a renderer, a pure swarm choice or db/)
    const model = await problems('src/lib/model/x.ts', "export {withLock} from '../stack/lock.js'\n")
    expect(model.join('\n')).to.match(/no-restricted-paths: .*never imports an operation/)
    // Controls: one pure piece may use another, and the operations may use them.
    expect(
      await problems('src/lib/targets/swarm/render.ts', "export {renderCompose} from '../compose/render.js'\n"),
    ).to.deep.equal([])
    expect(
      await problems('src/lib/targets/compose/x.ts', "export {Psql} from '../../operations/db/psql.js'\n"),
    ).to.deep.equal([])
  })

  it('rejects a loose shared file of src/lib (cli/flags.ts) importing an operation', async () => {
    const found = await problems('src/lib/cli/flags.ts', "export {upStack} from '../targets/compose/up.js'\n")
    expect(found.join('\n')).to.match(/no-restricted-paths: .*loose files of src\/lib are infrastructure/)
    expect(await problems('src/lib/cli/flags.ts', "export {StackctlError} from '../errors.js'\n")).to.deep.equal([])
  })

  it('accepts the same kinds of imports in the right direction', async () => {
    expect(
      await problems('src/lib/targets/compose/x.ts', "export {runningService} from '../../engine/services.js'\n"),
    ).to.deep.equal([])
    expect(await problems('src/commands/x.ts', "export {upStack} from '../lib/targets/compose/up.js'\n")).to.deep.equal(
      [],
    )
  })
})
