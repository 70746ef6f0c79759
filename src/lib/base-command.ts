import {Command} from '@oclif/core'

import {StackctlError} from './errors.js'

/**
 * Every stackctl command extends this: domain errors become one line saying what failed, one hint, and the
 * documented exit code — never a stack trace (set DEBUG=stackctl:* for the details).
 */
export abstract class StackctlCommand extends Command {
  /**
   * A check that ran but failed: the result (human or --json) is still printed in full, then the process
   * exits with `code`. this.exit() would throw and make oclif print an error object instead of the result.
   */
  protected exitAfterOutput(code: number): void {
    process.exitCode = code
  }

  protected override async catch(error: Error & {exitCode?: number}): Promise<unknown> {
    if (!(error instanceof StackctlError)) return super.catch(error)
    if (process.env.DEBUG && error.stack) this.logToStderr(error.stack)
    if (this.jsonEnabled()) {
      this.logJson({error: {message: error.message, exitCode: error.exitCode, suggestion: error.suggestion}})
    } else {
      // Written by hand rather than through oclif's formatter, which wraps long lines at 80 columns.
      process.stderr.write(`Error: ${error.message}\n${error.suggestion ? `Hint: ${error.suggestion}\n` : ''}`)
    }
    return this.exit(error.exitCode)
  }
}
