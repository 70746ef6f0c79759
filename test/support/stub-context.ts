/** A stack context over the stubs: a real temporary stack directory, an in-memory engine and Compose. */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {StackConfigInput} from '../../src/lib/model/config/stack-config.js'
import {EngineFactory} from '../../src/lib/engine/factory.js'
import {loadStack, type StackContext} from '../../src/lib/stack/context.js'
import type {ImageResolver} from '../../src/lib/stack/images.js'
import {StubCompose, StubEngine} from './stub-stack.js'

export interface StubStack {
  ctx: StackContext
  engine: StubEngine
  compose: StubCompose
  progress: string[]
  resolver: ImageResolver
}

const roots: string[] = []
// The unit run leaves nothing behind in the temporary directory (96 of these were left by every run).
process.once('exit', () => {
  for (const root of roots) rmSync(root, {recursive: true, force: true})
})

export function tempRoot(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'stackctl-unit-'))
  roots.push(root)
  return root
}

/** Loads a stack for `demo` in `dir` (a new one under a temp root by default) over fresh stubs. */
export async function stubStack(
  flags: StackConfigInput & {adopt?: boolean} = {},
  options: {engine?: StubEngine; dir?: string} = {},
): Promise<StubStack> {
  const engine = options.engine ?? new StubEngine()
  const dir = options.dir ?? path.join(tempRoot(), 'stack')
  const compose = new StubCompose({project: flags.project ?? 'demo', composeFile: '', projectDirectory: dir}, engine)
  const progress: string[] = []
  const ctx = await loadStack(
    // The stubs run no pgBackRest: WAL archiving is covered by test/lib/operations/protect (real engine).
    {project: 'demo', imageSource: 'local', dir, walArchive: false, ...flags},
    {engines: new EngineFactory(() => engine), compose, env: {}, progress: (line) => progress.push(line)},
  )
  const resolver: ImageResolver = {engine, pull: async () => false, buildLocal: async () => {}}
  return {ctx, engine, compose, progress, resolver}
}

/** The local images present, so resolution needs neither a registry nor a build. */
export function withLocalImages(engine: StubEngine): StubEngine {
  return engine.addImage('stackctl/postgres:17').addImage('stackctl/node:20')
}
