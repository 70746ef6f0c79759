/**
 * What a planner returns: typed steps, each with the reason it is needed. Planners (up.ts, restore.ts,
 * deploy.ts, upgrade.ts here) are pure: they judge an observation (a ProjectSnapshot, a swarm's nodes) against
 * what is wanted, and the executors (targets/compose/up.ts, targets/swarm/cluster/deploy.ts, …) run the steps instead of deciding inline.
 */

/** Steps that change something on the engine (or in the database). */
export const MUTATING_KINDS = [
  'build-image',
  'create',
  'recreate',
  'start',
  'stop',
  'converge',
  'repair-leftovers',
  'restore-data',
  'distribute-images',
  'pin-db-node',
  'deploy',
  'upgrade',
] as const

/** Steps that only look or wait. */
export const OBSERVING_KINDS = ['wait-healthy', 'check', 'wait-tasks'] as const

export type StepKind = (typeof MUTATING_KINDS)[number] | (typeof OBSERVING_KINDS)[number]

export interface PlanStep {
  kind: StepKind
  /** The service (or node, image, phase) it applies to, when it applies to one. */
  service?: string
  /** Why it is needed, in words a user can read (e.g. 'compose file changed', 'stopped'). */
  cause: string
}

export function isMutating(step: Pick<PlanStep, 'kind'>): boolean {
  return (MUTATING_KINDS as readonly string[]).includes(step.kind)
}

export function mutatingSteps<S extends Pick<PlanStep, 'kind'>>(steps: readonly S[]): S[] {
  return steps.filter(isMutating)
}

/** One line per step, for --verbose output and test messages: `recreate app: compose file changed`. */
export function describeStep(step: PlanStep): string {
  return `${step.kind}${step.service ? ` ${step.service}` : ''}: ${step.cause}`
}
