/** The render step over a stub engine: what it writes into the stack directory, and what it refuses. */
import {expect} from 'chai'
import {readFileSync, statSync, writeFileSync} from 'node:fs'

import {StackctlError} from '../../../src/lib/errors.js'
import {renderStack} from '../../../src/lib/stack/render-stack.js'
import {stubStack, withLocalImages} from '../../support/stub-context.js'
import {StubEngine} from '../../support/stub-stack.js'

describe('render step (stub engine)', () => {
  it('writes the compose file, a 0600 password and the state; a second render changes nothing', async () => {
    const {ctx, resolver} = await stubStack({}, {engine: withLocalImages(new StubEngine())})
    const first = await renderStack(ctx, resolver)
    expect(first).to.include({fileStatus: 'missing', written: true, passwordCreated: true, password: 'verified'})
    expect(statSync(ctx.paths.passwordFile).mode & 0o777).to.equal(0o600)
    const password = readFileSync(ctx.paths.passwordFile, 'utf8')
    expect(readFileSync(ctx.paths.composeFile, 'utf8')).to.not.include(password)
    const state = JSON.parse(readFileSync(ctx.paths.stateFile, 'utf8'))
    expect(state.settings).to.include({project: 'demo', resolvedImageSource: 'local'})
    const second = await renderStack(ctx, resolver)
    expect(second).to.include({fileStatus: 'unchanged', written: false, passwordCreated: false})
  })

  it('refuses to overwrite a hand-edited compose file without force (exit 2), and overwrites with it', async () => {
    const {ctx, resolver} = await stubStack({}, {engine: withLocalImages(new StubEngine())})
    await renderStack(ctx, resolver)
    const edited = readFileSync(ctx.paths.composeFile, 'utf8') + '# mine\n'
    writeFileSync(ctx.paths.composeFile, edited)
    const error = await renderStack(ctx, resolver).then(
      () => undefined,
      (caught: unknown) => caught,
    )
    expect(error).to.be.instanceOf(StackctlError)
    expect((error as StackctlError).exitCode).to.equal(2)
    expect(readFileSync(ctx.paths.composeFile, 'utf8')).to.equal(edited)
    expect((await renderStack(ctx, resolver, {force: true})).written).to.equal(true)
  })

  it('prints without writing anything when asked not to write', async () => {
    const {ctx, resolver} = await stubStack({}, {engine: withLocalImages(new StubEngine())})
    const rendered = await renderStack(ctx, resolver, {write: false})
    expect(rendered.composeText).to.include('name: demo')
    expect(() => statSync(ctx.paths.dir)).to.throw()
  })

  it('names the API image it will run when printing, the same tag a written render uses', async () => {
    const {ctx, resolver} = await stubStack({}, {engine: withLocalImages(new StubEngine())})
    const printed = /image: (stackctl-app:\S+)/.exec((await renderStack(ctx, resolver, {write: false})).composeText)
    expect(printed?.[1]).to.match(/^stackctl-app:[0-9a-f]{12}$/)
    const written = /image: (stackctl-app:\S+)/.exec((await renderStack(ctx, resolver)).composeText)
    expect(written?.[1]).to.equal(printed?.[1])
  })
})
