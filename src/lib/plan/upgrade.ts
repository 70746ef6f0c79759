/**
 * The plan of `db upgrade`, as the same typed steps as the other planners: operations/upgrade/plan.ts keeps the upgrade's
 * own decisions (targets, initdb settings, names) and its STEPS, whose order the executor (operations/upgrade/upgrade.ts)
 * follows. Pure. The original volume is never among the changed things: only a new volume is written, and the
 * copy is proved against the ledger before the switch.
 */
import {assertTarget, STEPS, type Method, type Step} from '../operations/upgrade/plan.js'
import type {PlanStep, StepKind} from './steps.js'

export interface UpgradeRequest {
  /** The major the running server has, and the one asked for (--to). */
  current: number
  target: number
  /** Majors there are images for. */
  available: readonly number[]
  method: Method
  /** The new volume's name. */
  volume: string
}

export interface UpgradePlanStep extends PlanStep {
  /** The upgrade's own name for the step (operations/upgrade/plan.ts STEPS): what a failure names. */
  service: Step
}

/** Throws the refusal of a target that is not a newer major with an image (nothing changes then). */
export function planUpgrade(request: UpgradeRequest): UpgradePlanStep[] {
  assertTarget(request.current, request.target, request.available)
  const {current, target, volume, method} = request
  const steps: Record<Step, [StepKind, string]> = {
    'pre-flight': ['check', 'room for the copy, extensions and settings the new major supports'],
    'new volume': ['upgrade', `PostgreSQL ${target} cannot read ${current}'s files: a new volume ${volume}`],
    backup: ['upgrade', 'the API is stopped and a backup taken: no visit lands in the old data after it'],
    ledger: ['check', 'rows of every table counted, to prove the copy against'],
    'new server': ['upgrade', `a PostgreSQL ${target} server initialised like the old one on ${volume}`],
    copy: ['upgrade', method === 'pg_upgrade' ? 'pg_upgrade from the old files' : `PostgreSQL ${target}'s pg_dump`],
    verify: ['check', 'the copy must match the ledger exactly before the switch'],
    switch: ['upgrade', `the stack runs on ${volume}; the old volume is kept`],
    'API check': ['check', 'the API must record a visit in the copied data'],
  }
  return STEPS.map((name) => ({kind: steps[name][0], service: name, cause: steps[name][1]}))
}
