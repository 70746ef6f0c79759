import {Command} from '@oclif/core'

import {createEngine} from '../engine/dockerode-engine.js'
import {EngineFactory} from '../engine/factory.js'
import {StackctlError} from '../errors.js'
import {suggestCommands} from './suggest.js'
import {StepDisplay, wantsColor} from './ui/step-display.js'
import type {CommandIo, Reported} from '../targets/target.js'

/** The version of the --json shapes (schemas/*.json); scripts/json-schemas.ts checks they agree. */
export const JSON_SCHEMA_VERSION = 1

/** A verb whose --json result changed incompatibly (a key removed or retyped) counts its own version up. */
export const JSON_SCHEMA_VERSIONS: Readonly<Record<string, number>> = {
  // 2: --target swarm reports the Compose check's shape (reasons, not problems; its db nodes under `swarm`).
  'verify-persistence': 2,
  // 2 (up, down, status): one shape for both targets: target, services with replicas, volume {name, …} at the
  // top; Compose's details (dbUrl, mode, settings, problems, …) under `compose`, the swarm's under `swarm`.
  up: 2,
  down: 2,
  status: 2,
}

/** The version of a command's --json result (its id as typed: `volume inspect`); errors stay at version 1. */
export function jsonSchemaVersion(command: string): number {
  return JSON_SCHEMA_VERSIONS[command.replaceAll(':', ' ')] ?? JSON_SCHEMA_VERSION
}

/**
 * Every stackctl command extends this: domain errors become one line saying what failed, one hint, and the
 * documented exit code — never a stack trace (set DEBUG=stackctl:* for the details).
 */
export abstract class StackctlCommand extends Command {
  private engineFactory: EngineFactory | undefined

  /**
   * The composition root: the one place engines are created (dockerode is loaded on the first request, so a
   * command that never asks costs nothing). Operations receive them through loadStack, loadSwarm, buildImages.
   */
  protected get engines(): EngineFactory {
    return (this.engineFactory ??= new EngineFactory((env) => createEngine(env)))
  }

  /**
   * The step display of a long command, on stderr (stdout stays for the result). --json shows nothing but the
   * JSON (and warnings on stderr): no step lines, not even a failed step's ✖ (the error object says it).
   */
  protected stepDisplay(flags: {quiet?: boolean; verbose?: boolean; color?: boolean}): StepDisplay {
    return new StepDisplay({
      stream: process.stderr,
      color: wantsColor(process.stderr, process.env, flags.color === false),
      quiet: Boolean(flags.quiet) || this.jsonEnabled(),
      verbose: Boolean(flags.verbose) && !this.jsonEnabled(),
      stepLines: !this.jsonEnabled(),
    })
  }

  /** What a deploy target borrows from the command: its step display (made when first asked for) and stderr. */
  protected targetIo(flags: {quiet?: boolean; verbose?: boolean; color?: boolean}): CommandIo {
    let display: StepDisplay | undefined
    return {display: () => (display ??= this.stepDisplay(flags)), note: (line) => this.logToStderr(line)}
  }

  /** Prints what a target reported (stdout, then its notes on stderr), sets its exit code, returns the result. */
  protected report<T>({result, lines, notes = [], exitCode}: Reported<T>): T {
    for (const line of lines) this.log(line)
    for (const line of notes) this.logToStderr(line)
    if (exitCode !== undefined) this.exitAfterOutput(exitCode)
    return result
  }

  /**
   * A check that ran but failed: the result (human or --json) is still printed in full, then the process
   * exits with `code`. this.exit() would throw and make oclif print an error object instead of the result.
   */
  protected exitAfterOutput(code: number): void {
    process.exitCode = code
  }

  /** Every --json result says which version of its schema (schemas/<command>.json) it follows. */
  protected override toSuccessJson(result: unknown): unknown {
    return {schemaVersion: jsonSchemaVersion(this.id ?? ''), ...(result as object)}
  }

  protected override async catch(error: Error & {exitCode?: number; code?: string}): Promise<unknown> {
    if (error.code === 'EEXIT') return super.catch(error) // this.exit() itself
    const failure = asFailure(
      error,
      this.id ?? '',
      flagNames({...this.ctor.baseFlags, ...this.ctor.flags}, this.ctor.enableJsonFlag),
    )
    if (process.env.DEBUG && error.stack) this.logToStderr(error.stack)
    if (this.jsonEnabled()) {
      // One shape for every failure, parse errors included: never oclif's internals on stdout.
      this.logJson({
        schemaVersion: JSON_SCHEMA_VERSION,
        error: {message: failure.message, exitCode: failure.exitCode, suggestion: failure.suggestion ?? null},
      })
    } else {
      // Written by hand rather than through oclif's formatter, which wraps long lines at 80 columns.
      process.stderr.write(`Error: ${failure.message}\n${failure.suggestion ? `Hint: ${failure.suggestion}\n` : ''}`)
    }
    return this.exit(failure.exitCode)
  }
}

/**
 * Any error as stackctl reports it: its own errors as they are; oclif's flag and argument errors as usage
 * errors (exit 2) pointing at the command's help; anything else as a failure (exit 1) with its first line.
 */
export function asFailure(
  error: Error & {oclif?: {exit?: number}},
  commandId: string,
  knownFlags: readonly string[] = [],
): StackctlError {
  if (error instanceof StackctlError) return error
  const firstLine = (error.message ?? String(error)).split('\n')[0].trim()
  if (error.oclif?.exit === 2) {
    // oclif says which flag on one line and what was wrong on the next: one line of ours holds both.
    const lines = (error.message ?? '')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !/^See more help/.test(line))
    const help = `stackctl ${commandId.replaceAll(':', ' ')} --help`.replace(/ +/g, ' ')
    const typo = /^Nonexistent flags?: (--?[^\s,=]+)/.exec(lines[0] ?? '')?.[1]
    const name = typo?.replace(/^-+/, '') ?? ''
    // Flags are short: one edit per four characters (--prot, --jsn), or --nope would be "--mode".
    const closest = typo ? suggestCommands(name, knownFlags, Math.max(1, Math.floor(name.length / 4))) : []
    const meant = closest.length > 0 ? `did you mean ${closest.map((flag) => `--${flag}`).join(' or ')}? ` : ''
    return new StackctlError(lines.join(': ') || firstLine, {exitCode: 2, suggestion: `${meant}see ${help}`})
  }
  return new StackctlError(firstLine || 'unexpected error', {
    exitCode: 1,
    suggestion: 'run again with DEBUG=stackctl:* for the details',
  })
}

/** The long names of a command's flags, for "did you mean"; hidden ones are not offered. */
function flagNames(flags: Record<string, {hidden?: boolean}>, json: boolean | undefined): string[] {
  const names = Object.entries(flags)
    .filter(([, flag]) => !flag.hidden)
    .map(([name]) => name)
  return json ? [...new Set([...names, 'json'])] : names
}
