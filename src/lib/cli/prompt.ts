import {createInterface} from 'node:readline/promises'

import {Interrupted} from '../errors.js'

export function isInteractive(): boolean {
  return Boolean(process.stdin.isTTY && process.stdout.isTTY)
}

/**
 * Asks the user to type `expected` back; anything else is a no. Ctrl-C at the prompt (or `signal` firing) is
 * an Interrupted error: nothing was done yet, and the caller says so.
 */
export async function confirmByTyping(question: string, expected: string, signal?: AbortSignal): Promise<boolean> {
  const rl = createInterface({input: process.stdin, output: process.stderr})
  const controller = new AbortController()
  const abort = () => controller.abort()
  rl.on('SIGINT', abort)
  signal?.addEventListener('abort', abort, {once: true})
  try {
    const answer = await rl.question(`${question}\nType '${expected}' to confirm: `, {signal: controller.signal})
    return answer.trim() === expected
  } catch (error) {
    if (controller.signal.aborted) throw new Interrupted('nothing was confirmed, so nothing was changed')
    throw error
  } finally {
    signal?.removeEventListener('abort', abort)
    rl.close()
  }
}

/** A question the user answers by typing `expected` back. */
export type Confirm = (question: string, expected: string) => Promise<boolean>

/**
 * A typed confirmation when there is a terminal to ask on; undefined without one (the caller then refuses, or
 * needs --force). `before` runs before each question: a step display pauses, so no spinner draws over it.
 */
export function terminalConfirm(signal?: AbortSignal, before?: () => void): Confirm | undefined {
  if (!isInteractive()) return undefined
  return (question, expected) => {
    before?.()
    return confirmByTyping(question, expected, signal)
  }
}
