/**
 * Everything a stack command needs, resolved once: validated configuration, the stack directory's paths and
 * remembered state, a dockerode client and the Compose client for this project.
 */
import {existsSync} from 'node:fs'

import type Docker from 'dockerode'

import {resolveStackConfig, resolveStackDir, type StackConfig, type StackConfigInput} from '../config/stack-config.js'
import {ComposeClient} from '../compose/compose-client.js'
import {readState, stackPaths, type StackPaths, type StackState} from '../compose/stack-files.js'
import {createDocker} from '../engine/docker.js'

export interface StackContext {
  config: StackConfig
  paths: StackPaths
  state: StackState | undefined
  docker: Docker
  compose: ComposeClient
  /** Progress and notices go to stderr so stdout stays clean for --json and the URL. */
  progress: (line: string) => void
}

export async function loadStack(
  flags: StackConfigInput,
  options: {env?: NodeJS.ProcessEnv; cwd?: string; progress?: (line: string) => void; docker?: Docker} = {},
): Promise<StackContext> {
  const env = options.env ?? process.env
  const cwd = options.cwd ?? process.cwd()
  const paths = stackPaths(resolveStackDir(flags.dir, env, cwd))
  const state = await readState(paths)
  const config = resolveStackConfig(flags, env, state?.settings ?? {}, cwd)
  return {
    config,
    paths,
    state,
    docker: options.docker ?? createDocker(env),
    compose: new ComposeClient({
      project: config.project,
      composeFile: paths.composeFile,
      projectDirectory: paths.dir,
      overrideFiles: existsSync(paths.overrideFile) ? [paths.overrideFile] : [],
    }),
    progress: options.progress ?? (() => {}),
  }
}
