/**
 * A plain-text table as `docker ps` prints one: a header row, each column as wide as its widest cell, two
 * spaces between columns, no trailing blanks. One line per row, the header first.
 */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  return [header, ...rows].map((cells) =>
    widths
      .map((width, i) => (cells[i] ?? '').padEnd(width))
      .join('  ')
      .trimEnd(),
  )
}
