/**
 * The labels stackctl puts on everything it creates (services, network, volume). They are how it recognises
 * its own stacks and refuses to act on anybody else's.
 */
export const LABELS = {
  stackId: 'io.stackctl.stack-id',
  project: 'io.stackctl.project',
  dir: 'io.stackctl.dir',
} as const
