/** Commands stackctl prints for the user to run: an argument is quoted only when the shell would split it. */
export function shellQuote(argument: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(argument) ? argument : `'${argument.replaceAll("'", `'\\''`)}'`
}
