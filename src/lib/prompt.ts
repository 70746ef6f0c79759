import {createInterface} from 'node:readline/promises'

export function isInteractive(): boolean {
  return Boolean(process.stdin.isTTY && process.stdout.isTTY)
}

/** Asks the user to type `expected` back; anything else is a no. */
export async function confirmByTyping(question: string, expected: string): Promise<boolean> {
  const rl = createInterface({input: process.stdin, output: process.stderr})
  try {
    const answer = await rl.question(`${question}\nType '${expected}' to confirm: `)
    return answer.trim() === expected
  } finally {
    rl.close()
  }
}
