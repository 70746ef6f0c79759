/**
 * The plan of `volume restore` from one snapshot of the project. Pure. The restore never stops the stack: it
 * loads the backup into a temporary database beside the live one, checks it, and swaps it in with one
 * transaction, so the app keeps serving throughout. It needs the stack's db running; without one the plan is
 * blocked (and says why), and nothing changes.
 */
import type {ProjectSnapshot} from '../engine/engine.js'
import type {PlanStep} from './steps.js'

export interface RestoreRequest {
  /** The backup file, as given. */
  file: string
  /** --force: no confirmation, and an older dump's major is accepted. */
  force?: boolean
}

export interface RestorePlan {
  /** The running db container the restore goes into; undefined when blocked. */
  dbId: string | undefined
  /** Why nothing can be done (no running db); the steps are then empty. */
  blocked?: string
  steps: PlanStep[]
}

export function planRestore(snapshot: Pick<ProjectSnapshot, 'containers'>, request: RestoreRequest): RestorePlan {
  const dbs = snapshot.containers.filter((c) => c.service === 'db')
  const db = dbs.find((c) => c.state === 'running')
  if (!db) {
    const blocked = dbs.length === 0 ? 'the stack has no db container' : `its db is ${dbs[0].state}`
    return {dbId: undefined, blocked, steps: []}
  }
  const steps: PlanStep[] = [
    {kind: 'check', service: 'backup', cause: `${request.file} is read and listed before anything changes`},
  ]
  if (!request.force) {
    steps.push({kind: 'check', service: 'confirm', cause: 'the data in the volume is replaced: asked first (--force)'})
  }
  steps.push(
    {kind: 'restore-data', service: 'db', cause: 'pg_restore into a temporary database beside the live one'},
    {kind: 'check', service: 'restored data', cause: 'rows and counter proved before the switch'},
    {kind: 'restore-data', service: 'db', cause: 'one transaction swaps the restored database in'},
  )
  const app = snapshot.containers.find((c) => c.service === 'app')
  if (app && app.state !== 'running') {
    // Nothing of the restore starts it: the user's up does, on the restored data.
    steps.push({kind: 'check', service: 'app', cause: `${app.state}: left as it is`})
  }
  return {dbId: db.id, steps}
}
