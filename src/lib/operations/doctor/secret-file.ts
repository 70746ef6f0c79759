/**
 * Reading the stack's password file for `doctor`, never through a link: a `secrets/` directory or a
 * `db_password` that is a symbolic link (or not a regular file) is reported as the failure it is, not
 * followed to whatever file it names — a check that "matches" through a link proves nothing about the file
 * the containers get. Read errors become one plain sentence, never a raw errno message.
 */
import {lstatOptional, readOptional} from '../../model/stackdir/files.js'
import {StackctlError} from '../../errors.js'
import type {StackPaths} from '../../model/stackdir/stack-files.js'

export interface SecretProblem {
  detail: string
  fix: string
}

const NOT_OURS_FIX =
  "the secret must be a regular file stackctl wrote: put the stack's own secrets/db_password back as a real directory and file (not links)"

/** The password file's content (undefined when absent), or the problem that keeps doctor from reading it. */
export async function readSecretFile(
  paths: Pick<StackPaths, 'secretsDir' | 'passwordFile'>,
): Promise<{content?: string; problem?: SecretProblem}> {
  try {
    const dir = await lstatOptional(paths.secretsDir)
    if (dir?.isSymbolicLink()) return {problem: {detail: `${paths.secretsDir} is a symbolic link`, fix: NOT_OURS_FIX}}
    if (dir && !dir.isDirectory())
      return {problem: {detail: `${paths.secretsDir} is not a directory`, fix: NOT_OURS_FIX}}
    const file = await lstatOptional(paths.passwordFile)
    if (file?.isSymbolicLink())
      return {problem: {detail: `${paths.passwordFile} is a symbolic link`, fix: NOT_OURS_FIX}}
    if (file && !file.isFile())
      return {problem: {detail: `${paths.passwordFile} is not a regular file`, fix: NOT_OURS_FIX}}
    return {content: await readOptional(paths.passwordFile)}
  } catch (error) {
    return {problem: secretReadProblem(paths.passwordFile, error)}
  }
}

/** Pure: a failed read as one line a user can act on. */
export function secretReadProblem(file: string, error: unknown): SecretProblem {
  if (error instanceof StackctlError) return {detail: error.message, fix: error.suggestion ?? NOT_OURS_FIX}
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  if (code === 'EACCES' || code === 'EPERM') {
    return {
      detail: `cannot read ${file}: permission denied`,
      fix: 'run stackctl doctor as the user who runs stackctl up (the file is readable by its owner only), or with sudo',
    }
  }
  return {
    detail: `cannot read ${file}${code ? ` (${describeCode(code)})` : ''}`,
    fix: 'check the stack directory and its secrets/ directory',
  }
}

function describeCode(code: string): string {
  const words: Record<string, string> = {
    EISDIR: 'it is a directory',
    EIO: 'an input/output error',
    ELOOP: 'too many symbolic links',
    ENAMETOOLONG: 'the path is too long',
  }
  return words[code] ?? code
}
