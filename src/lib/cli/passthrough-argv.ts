/**
 * Commands that hand most of their arguments to another program (`stackctl psql ARGS`, `stackctl exec SERVICE
 * CMD…`): oclif's non-strict parsing would regroup flag-like tokens (`-- -c A -c B` came out as `-c -c A B`),
 * so the raw argv is split first and oclif only ever sees stackctl's part. Pure.
 */

/** A command's own flags as oclif defines them: a name, maybe a one-letter alias, and whether a value follows. */
export type OwnFlags = Record<string, {char?: string; type: 'boolean' | 'option'}>

export interface PassthroughRules {
  /** The program's options that take the next argument as their value (`psql -c SQL`): never stackctl's. */
  valueOptions?: ReadonlySet<string>
  /**
   * How many leading positional arguments are stackctl's (exec's SERVICE). With any, the first argument after
   * them that is not one of stackctl's flags starts the program's part, which then takes everything after it
   * (docker exec's rule, so `exec app ls -p` keeps `-p` for ls); without, each argument that is not stackctl's
   * is the program's, wherever it stands (psql's rule).
   */
  ownPositionals?: number
}

/**
 * Splits the raw arguments into stackctl's and the program's, keeping the program's exactly as typed.
 * Everything after the first `--` is the program's. Before it, stackctl's own flags (`--dir X`, `--dir=X`,
 * `-p X`, `-pX`) are stackctl's; see PassthroughRules for the rest.
 */
export function splitPassthroughArgv(
  argv: readonly string[],
  own: OwnFlags,
  rules: PassthroughRules = {},
): {own: string[]; rest: string[]} {
  const spellings = new Map<string, 'boolean' | 'option'>()
  for (const [name, flag] of Object.entries(own)) {
    spellings.set(`--${name}`, flag.type)
    if (flag.char) spellings.set(`-${flag.char}`, flag.type)
  }
  const positionals = rules.ownPositionals ?? 0
  let positionalsSeen = 0
  const result = {own: [] as string[], rest: [] as string[]}
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--') {
      result.rest.push(...argv.slice(i + 1))
      break
    }
    if (rules.valueOptions?.has(arg)) {
      result.rest.push(...argv.slice(i, i + 2))
      i++
      continue
    }
    const type = spellings.get(arg)
    if (type === 'option') {
      result.own.push(...argv.slice(i, i + 2))
      i++
    } else if (type === 'boolean' || ownWithValue(arg, spellings)) {
      result.own.push(arg)
    } else if (positionalsSeen < positionals) {
      result.own.push(arg)
      positionalsSeen++
    } else if (positionals > 0) {
      result.rest.push(...argv.slice(i))
      break
    } else {
      result.rest.push(arg)
    }
  }
  return result
}

/** `--name=value`, or `-xVALUE` for a one-letter flag that takes a value. */
function ownWithValue(arg: string, spellings: Map<string, 'boolean' | 'option'>): boolean {
  if (arg.startsWith('--')) return spellings.get(arg.split('=')[0]) === 'option' && arg.includes('=')
  return /^-[^-]./.test(arg) && spellings.get(arg.slice(0, 2)) === 'option'
}
