import {StackctlCommand} from '../../lib/cli/base-command.js'
import {configFlags} from '../../lib/cli/flags.js'
import {formatBytes} from '../../lib/operations/backup-restore/format.js'
import type {VolumeInspection} from '../../lib/operations/backup-restore/inspect.js'
import {deployTargetFlag, swarmTargetFlags} from '../../lib/targets/swarm/cluster/flags.js'
import {targetFromFlags} from '../../lib/targets/select.js'
import type {VolumeInspectReport} from '../../lib/targets/target.js'

export type {VolumeInspectReport} from '../../lib/targets/target.js'

export default class VolumeInspect extends StackctlCommand {
  static override summary =
    'Show the data volume: driver, labels, size, the containers using it, its PostgreSQL version'
  static override description = `Everything the engine knows about <project>_postgres_data, its size from the engine's disk-usage report, \
the containers that use it, and the PostgreSQL major version that initialised it (read from PG_VERSION through a \
throwaway container that mounts the volume read-only) compared with the configured one. Nothing is changed. \
Exits 1 when the stack has no data volume yet.`
  static override examples = [
    '<%= config.bin %> volume inspect',
    '<%= config.bin %> volume inspect --json --project-name demo',
    '<%= config.bin %> volume inspect --target swarm',
  ]
  static override enableJsonFlag = true
  static override flags = {
    dir: configFlags.dir,
    'project-name': configFlags['project-name'],
    'pg-major': configFlags['pg-major'],
    'image-source': configFlags['image-source'],
    ...deployTargetFlag,
    ...swarmTargetFlags,
  }

  async run(): Promise<VolumeInspectReport> {
    const {flags} = await this.parse(VolumeInspect)
    const volume = await targetFromFlags(flags, 'volume inspect', this.engines).inspectVolume()
    const pairs = (record: Record<string, string>) =>
      Object.entries(record)
        .map(([key, value]) => `${key}=${value}`)
        .join(', ') || 'none'
    const users = volume.usedBy.map((u) => `${u.name} (${u.state})`).join(', ') || 'none'
    this.log(`volume      ${volume.name}${'node' in volume ? ` on node ${volume.node}` : ''}`)
    this.log(`driver      ${volume.driver} (scope ${volume.scope})`)
    this.log(`mountpoint  ${volume.mountpoint}`)
    this.log(`created     ${volume.createdAt ?? 'unknown'}`)
    this.log(`labels      ${pairs(volume.labels)}`)
    this.log(`options     ${pairs(volume.options)}`)
    this.log(
      `size        ${formatBytes(volume.sizeBytes)}${volume.sizeBytes >= 0 ? ` (${volume.sizeBytes} bytes)` : ''}`,
    )
    this.log(`used by     ${users}${volume.usedByDb ? '' : ' — the stack’s db is not using it'}`)
    this.log(`postgres    ${describeVersion(volume)}`)
    for (const old of volume.superseded) {
      this.log(
        `superseded  ${old.volume} (PostgreSQL ${old.pgMajor}, by ${old.supersededBy} on ${old.at}${old.exists ? '' : ', gone'})`,
      )
    }
    return volume
  }
}

function describeVersion(volume: VolumeInspection): string {
  const configured = `configured ${volume.configuredPgVersion}`
  if (volume.compatible === null) return `unknown (could not read PG_VERSION; ${configured})`
  if (volume.pgVersion === null) return `not initialised yet (${configured} will initialise it)`
  if (volume.compatible) return `${volume.pgVersion} (${configured}: compatible)`
  return `${volume.pgVersion} — INCOMPATIBLE with the ${configured}; PostgreSQL ${volume.configuredPgVersion} cannot open it`
}
