/**
 * debootstrap prints several hundred lines per image; this condenses them to a few progress lines: the first
 * package of each stage, then one line every `every` packages, the milestones, and every warning or error.
 */
/** `I: Retrieving NAME VERSION`, `I: Unpacking NAME...`; Debian versions start with a digit. */
const STAGE = /^I: (Retrieving|Extracting|Unpacking|Configuring) ([^\s.]\S*?)(?:\.\.\.)?(?: \d\S*)?$/
const VERBS: Record<string, string> = {
  Retrieving: 'retrieved',
  Extracting: 'extracted',
  Unpacking: 'unpacked',
  Configuring: 'configured',
}
/** Index files, not packages. */
const NOT_PACKAGES = new Set(['InRelease', 'Release', 'Release.gpg', 'Packages'])
const MILESTONE = /^I: (Installing core packages|Installing base packages|Base system installed)/

export function debootstrapProgress(emit: (line: string) => void, every = 20): (line: string) => void {
  const counts = new Map<string, number>()
  return (raw) => {
    const line = raw.trim()
    if (/^[WE]: /.test(line)) return emit(line)
    const stage = STAGE.exec(line)
    if (stage && !NOT_PACKAGES.has(stage[2])) {
      const verb = VERBS[stage[1]]
      const count = (counts.get(verb) ?? 0) + 1
      counts.set(verb, count)
      if (count === 1 || count % every === 0) emit(`${verb} ${count} package${count === 1 ? '' : 's'} (${stage[2]})`)
      return
    }
    if (MILESTONE.test(line)) emit(line.slice(3).replace(/\.+$/, ''))
  }
}
