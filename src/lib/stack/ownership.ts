/**
 * Whose stack is this? Everything stackctl creates carries `io.stackctl.*` labels with the stack id that
 * stack.json holds. Before acting on a Compose project or a data volume, stackctl checks that it is its own:
 * a project of the same name made by hand, by another tool or from another stack directory is never taken
 * over, stopped or deleted unless the user adopts it explicitly (--adopt).
 */
import type {Adopted} from '../model/stackdir/stack-files.js'
import {shellQuote} from '../model/config/command-line.js'
import {LABELS} from '../model/config/labels.js'
import {StackctlError} from '../errors.js'
import type {StackContext} from './context.js'
import {registeredStackDir} from './registry.js'

export type Owner = 'none' | 'ours' | 'adopted' | 'foreign'

export interface OwnershipReport {
  /** The project's containers as found (inspectOwnership only). */
  found?: LabelledThing[]
  containers: Owner
  volume: Owner
  /** The stack directory the foreign containers say they belong to, when they are stackctl's. */
  foreignDir?: string
  /** The stack id on a volume of another stackctl stack (its directory is looked up in the registry). */
  foreignVolumeStackId?: string
  /** One line per finding, for messages. */
  findings: string[]
}

export interface LabelledThing {
  id?: string
  name: string
  labels: Record<string, string>
}

/** Pure: decides from labels alone (unit-tested). */
export function judgeOwnership(
  stackId: string | undefined,
  containers: readonly LabelledThing[],
  volume: LabelledThing | undefined,
  adopted: Adopted = {},
): OwnershipReport {
  const findings: string[] = []
  let foreignDir: string | undefined
  const ours = (c: LabelledThing) => {
    const id = c.labels[LABELS.stackId]
    if (id) return id === stackId || (adopted.stackIds ?? []).includes(id)
    return c.id !== undefined && (adopted.containerIds ?? []).includes(c.id)
  }
  const strangers = containers.filter((c) => !ours(c))
  for (const c of strangers) {
    const id = c.labels[LABELS.stackId]
    const dir = c.labels[LABELS.dir]
    if (id && dir) foreignDir ??= dir
    findings.push(
      id
        ? `container ${c.name} belongs to another stackctl stack${dir ? ` (directory ${dir})` : ''}`
        : `container ${c.name} was not created by stackctl (no io.stackctl labels)`,
    )
  }
  let volumeOwner: Owner = 'none'
  let foreignVolumeStackId: string | undefined
  if (volume) {
    const id = volume.labels[LABELS.stackId]
    if (stackId && id === stackId) volumeOwner = 'ours'
    else if (adopted.volume === volume.name) volumeOwner = 'adopted'
    else {
      volumeOwner = 'foreign'
      foreignVolumeStackId = id || undefined
      findings.push(
        id
          ? `volume ${volume.name} belongs to another stackctl stack`
          : `volume ${volume.name} was not created by this stack (no io.stackctl labels)`,
      )
    }
  }
  return {
    containers: containers.length === 0 ? 'none' : strangers.length > 0 ? 'foreign' : 'ours',
    volume: volumeOwner,
    foreignDir,
    foreignVolumeStackId,
    findings,
  }
}

export async function inspectOwnership(ctx: StackContext): Promise<OwnershipReport> {
  const {project} = ctx.config
  const listed = await ctx.engine.containers.list({project})
  const containers = listed.map((c) => ({id: c.id, name: c.name, labels: c.labels}))
  const name = ctx.config.volume
  const info = await ctx.engine.volumes.inspect(name)
  const volume = info && {name, labels: info.labels}
  return {...judgeOwnership(ctx.state?.stackId, containers, volume, ctx.state?.adopted), found: containers}
}

export class ForeignStack extends StackctlError {
  constructor(
    readonly project: string,
    readonly report: OwnershipReport,
    dir: string,
  ) {
    const elsewhere = report.foreignDir && report.foreignDir !== dir ? report.foreignDir : undefined
    const owner = elsewhere ? ` (its stack directory is ${elsewhere})` : ''
    super(`project '${project}' on this engine is not this stack's (${dir}): ${report.findings.join('; ')}${owner}`, {
      exitCode: 2,
      suggestion: elsewhere
        ? `work on it with --dir ${shellQuote(elsewhere)}, or choose another --project-name; nothing was changed`
        : `choose another --project-name; if these are yours and stackctl should manage them, pass --adopt (take a stackctl volume backup first); nothing was changed`,
    })
  }
}

export interface Claim {
  report: OwnershipReport
  /** What --adopt took over now, to remember in stack.json (merged with what was adopted before). */
  adopted?: Adopted
}

/**
 * Refuses a project or volume that is not this stack's, unless `adopt` is set. Read-only commands call it
 * too: reporting another stack's state as this one's is how the wrong volume gets deleted next.
 */
export async function claimStack(ctx: StackContext, options: {adopt?: boolean} = {}): Promise<Claim> {
  const report = await inspectOwnership(ctx)
  const foreign = report.containers === 'foreign' || report.volume === 'foreign'
  if (foreign && !options.adopt) {
    // Containers say where their stack directory is; a volume alone only has its stack id to go by.
    const owner = report.foreignVolumeStackId && (await registeredStackDir(report.foreignVolumeStackId))
    throw new ForeignStack(ctx.config.project, {...report, foreignDir: report.foreignDir ?? owner}, ctx.paths.dir)
  }
  if (foreign) ctx.progress(`adopting: ${report.findings.join('; ')}`)
  if (!foreign) return {report}
  const before = ctx.state?.adopted ?? {}
  const strangers = (report.found ?? []).filter((c) => c.labels[LABELS.stackId] !== ctx.state?.stackId)
  const stackIds = strangers.map((c) => c.labels[LABELS.stackId]).filter((id): id is string => Boolean(id))
  const containerIds = strangers.filter((c) => !c.labels[LABELS.stackId] && c.id).map((c) => c.id!)
  return {
    report,
    adopted: {
      ...before,
      volume: report.volume === 'foreign' ? ctx.config.volume : before.volume,
      stackIds: [...new Set([...(before.stackIds ?? []), ...stackIds])],
      containerIds: [...new Set([...(before.containerIds ?? []), ...containerIds])],
    },
  }
}
