/**
 * Where each stack's directory is, by stack id, in stackctl's state directory (`stacks/<id>.json`), written
 * whenever a stack directory's stack.json is. A volume carries its stack id but not its directory (its labels
 * can never change, and the directory can move), so this is how a refusal names the stack a volume belongs
 * to after its containers are gone. An entry is only believed when that directory's stack.json still holds
 * the same id; a missing, unreadable or linked entry is simply no answer.
 */
import path from 'node:path'

import {ensureRealDirectory, readOptional, writeFileAtomic} from '../model/stackdir/files.js'
import {readState, stackPaths} from '../model/stackdir/stack-files.js'
import {stateDirectory} from './lock.js'

interface Entry {
  stackId: string
  project: string
  dir: string
}

function entryFile(stackId: string, env: NodeJS.ProcessEnv): string | undefined {
  return /^[0-9a-f]{16}$/.test(stackId) ? path.join(stateDirectory(env), 'stacks', `${stackId}.json`) : undefined
}

/** Best effort: a state directory that cannot be written only costs a less precise message later. */
export async function registerStack(entry: Entry, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const file = entryFile(entry.stackId, env)
  if (!file) return
  try {
    if ((await readOptional(file).catch(() => undefined)) === JSON.stringify(entry)) return
    await ensureRealDirectory(path.dirname(file), 0o700)
    await writeFileAtomic(file, JSON.stringify(entry), 0o600)
  } catch {
    // not worth failing a command over
  }
}

/** The directory of the stack with this id, when its stack.json there still says so. */
export async function registeredStackDir(
  stackId: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  const file = entryFile(stackId, env)
  if (!file) return undefined
  try {
    const text = await readOptional(file)
    if (text === undefined) return undefined
    const entry = JSON.parse(text) as Partial<Entry>
    if (entry.stackId !== stackId || typeof entry.dir !== 'string' || !path.isAbsolute(entry.dir)) return undefined
    const state = await readState(stackPaths(entry.dir))
    return state?.stackId === stackId ? entry.dir : undefined
  } catch {
    return undefined
  }
}
