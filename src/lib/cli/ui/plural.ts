/** "1 visit", "2 visits", "0 visits": a count with its noun, as a person would write it. */
export function plural(count: number, noun: string, nouns = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : nouns}`
}
