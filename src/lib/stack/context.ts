/**
 * Everything a stack command needs, resolved once: validated configuration, the stack directory's paths and
 * remembered state, the engine client and the Compose client for this project.
 */
import {type ConfigFile, readConfigFile} from './config-file.js'
import {existsSync} from 'node:fs'

import {
  ENV,
  rememberedSettings,
  resolveStackConfig,
  resolveStackDir,
  type StackConfig,
  type StackConfigInput,
} from '../model/config/stack-config.js'
import {ComposeClient, type Compose} from '../engine/compose-client.js'
import {
  composeProjectName,
  readState,
  stackFilesPresent,
  StackStateUnreadable,
  stackPaths,
  type StackPaths,
  type StackState,
} from '../model/stackdir/stack-files.js'
import type {DockerCli} from '../engine/docker-cli.js'
import type {Engine} from '../engine/engine.js'
import type {EngineFactory} from '../engine/factory.js'
import {UsageError} from '../errors.js'
import {formatElapsed} from '../cli/ui/step-display.js'
import type {StackVolume} from '../engine/pgdata/stored.js'

export interface StackContext {
  /**
   * Read-only values: the stack model (src/lib/model) is built from them, so no step may change the port or the
   * images after the render. Another stack (e.g. on another volume, operations/upgrade/switch.ts) is a new config.
   */
  config: Readonly<StackConfig>
  paths: StackPaths
  state: StackState | undefined
  engine: Engine
  /** `docker` CLI processes against the same engine (`exec -it`, image builds and pulls). */
  docker: DockerCli
  compose: Compose
  /** --adopt: take over a project or volume stackctl did not create (or whose stack.json was lost). */
  adopt: boolean
  /** stackctl.yaml next to the stack directory, when there is one (its settings are in config already). */
  configFile?: ConfigFile
  /** Settings that came from stack.json rather than a flag or the environment, when not the defaults. */
  remembered: Array<{flag: string; value: string}>
  /** Progress and notices go to stderr so stdout stays clean for --json and the URL. */
  progress: (line: string) => void
  /** A tool's own output line (Compose's progress): shown with --verbose, otherwise kept for a failure. */
  detail: (line: string) => void
  /** The start of the next step of a long command (the display times each one). */
  phase: (label: string) => void
  /** A part of the step under way is done, `ms` after the step began (a service turned healthy). */
  partDone: (label: string, ms: number) => void
  /** What the step under way still waits for (a terminal shows it on the step's line); undefined: nothing. */
  waiting: (text: string | undefined) => void
}

/** How a command shows what the operation reports; each part defaults to nothing (detail: to progress). */
export interface ProgressSinks {
  progress?: (line: string) => void
  detail?: (line: string) => void
  phase?: (label: string) => void
  partDone?: (label: string, ms: number) => void
  waiting?: (text: string | undefined) => void
}

export async function loadStack(
  flags: StackConfigInput & {adopt?: boolean},
  options: {
    env?: NodeJS.ProcessEnv
    cwd?: string
    progress?: (line: string) => void
    detail?: (line: string) => void
    phase?: (label: string) => void
    partDone?: (label: string, ms: number) => void
    waiting?: (text: string | undefined) => void
    /** From the base command (the composition root); a unit test hands in one over a stub engine. */
    engines: EngineFactory
    compose?: Compose
  },
): Promise<StackContext> {
  const env = options.env ?? process.env
  const cwd = options.cwd ?? process.cwd()
  const paths = stackPaths(resolveStackDir(flags.dir, env, cwd))
  const file = await readConfigFile(paths.dir)
  const declared = {...file?.settings, ...definedOnly(flags)} // the flags override stackctl.yaml
  const explicitProject = flags.project ?? (env[ENV.project] || undefined)
  const state = await readTrustedState(paths, Boolean(flags.adopt && explicitProject))
  const fileProject = file?.settings.project === undefined ? undefined : String(file.settings.project)
  if (state && explicitProject === undefined && fileProject !== undefined && fileProject !== state.settings.project) {
    throw new UsageError(
      `${file!.path} says project '${fileProject}', but ${paths.dir} is the stack directory of project '${state.settings.project}'`,
      `fix project in ${file!.path}; nothing was done`,
    )
  }
  if (state && explicitProject !== undefined && explicitProject !== state.settings.project) {
    throw new UsageError(
      `${paths.dir} is the stack directory of project '${state.settings.project}', not '${explicitProject}'`,
      `omit --project-name (and STACKCTL_PROJECT), or pass the --dir of project '${explicitProject}'`,
    )
  }
  const config = resolveStackConfig(declared, env, state?.settings, cwd)
  return {
    config,
    paths,
    state,
    engine: options.engines.host(env),
    docker: options.engines.cli(),
    compose:
      options.compose ??
      new ComposeClient(
        {
          project: config.project,
          composeFile: paths.composeFile,
          projectDirectory: paths.dir,
          overrideFiles: existsSync(paths.overrideFile) ? [paths.overrideFile] : [],
        },
        options.engines.cli(),
      ),
    adopt: Boolean(flags.adopt),
    remembered: rememberedSettings(declared, env, state?.settings ?? {}),
    configFile: file,
    progress: options.progress ?? (() => {}),
    detail: options.detail ?? options.progress ?? (() => {}),
    phase: options.phase ?? (() => {}),
    partDone: options.partDone ?? partLine(options.progress ?? (() => {})),
    waiting: options.waiting ?? (() => {}),
  }
}

/** Without a step display, a part done is a plain progress line. */
function partLine(progress: (line: string) => void): (label: string, ms: number) => void {
  return (label, ms) => progress(`${label} (${formatElapsed(ms)})`)
}

/** The keys a flag set: an undefined flag must not hide stackctl.yaml's value. */
function definedOnly<T extends object>(flags: T): Partial<T> {
  return Object.fromEntries(Object.entries(flags).filter(([, value]) => value !== undefined)) as Partial<T>
}

/**
 * The directory's state, or undefined for a new directory. A directory that holds stack files but whose
 * stack.json is missing or broken stops here: falling back to defaults would point at another stack (the
 * default project). Only --adopt with an explicit --project-name re-attaches it.
 */
async function readTrustedState(paths: StackPaths, reattach: boolean): Promise<StackState | undefined> {
  let state: StackState | undefined
  try {
    state = await readState(paths)
  } catch (error) {
    if (error instanceof StackStateUnreadable && reattach) return undefined
    throw error
  }
  if (state || reattach) return state
  const files = await stackFilesPresent(paths)
  if (files.length === 0) return undefined
  const named = await composeProjectName(paths)
  throw new StackStateUnreadable(
    paths.stateFile,
    `is missing although the directory holds ${files.join(', ')}${named ? ` (its docker-compose.yml names project '${named}')` : ''}`,
    named,
  )
}

/** The stack's data volume as the PG_VERSION reader needs it. */
export function stackVolume(ctx: StackContext): StackVolume {
  const {project, volume, pgMajor, imageSource} = ctx.config
  return {project, volume, pgMajor, imageSource, rememberedSource: ctx.state?.settings.resolvedImageSource}
}
