/**
 * What protects a swarm stack's data (issue 25). The swarm target archives no WAL: there is no repository on
 * another node and no point-in-time restore, so `status` and `doctor` say so, with what the data falls back on
 * and how to take a copy off the swarm. Pure: the caller supplies the hint, built for its own flags.
 */
import type {CheckResult} from '../../operations/doctor/checks.js'

export interface SwarmProtection {
  /** Always false: no WAL is archived on the swarm target (Compose archives with pgBackRest). */
  continuousArchiving: false
  /** Always false: without an archive there is no point to restore to but a dump's. */
  pointInTimeRestore: false
  /** What holds the data: `volume` (one db's volume on its node) or `replicas` (the Patroni members' copies). */
  copies: 'volume' | 'replicas'
  /** The same as a sentence, naming the volume(s) and node. */
  detail: string
  /** The command that copies the data off the swarm (a pg_dump to this machine), as it runs pasted; null when none applies. */
  fix: string | null
}

export interface ProtectionInput {
  /** The HA database (--db-replicas 3): Patroni members, each on its own node and volume. */
  ha: boolean
  /** The single db's node (empty when it is not pinned yet). */
  dbNode: string
  /** The data volume's name (HA: the members' volumes, comma-separated). */
  volume: string
  /** `stackctl volume backup --target swarm …` for this stack. */
  backupCommand: string
}

export function swarmProtection(input: ProtectionInput): SwarmProtection {
  const base = {continuousArchiving: false, pointInTimeRestore: false} as const
  if (input.ha) {
    return {
      ...base,
      copies: 'replicas',
      detail: `no continuous archiving on the swarm target: the data's copies are the Patroni members' volumes (${input.volume}), one per node, so losing a node loses no acknowledged visit while another member holds them; a row deleted or a table dropped is gone on every member, and there is no point-in-time restore; volume backup writes a pg_dump of the leader to this machine`,
      fix: input.backupCommand,
    }
  }
  const where = input.dbNode ? `on node ${input.dbNode}` : "on the db's node"
  return {
    ...base,
    copies: 'volume',
    detail: `no continuous archiving on the swarm target: the data is only in volume ${input.volume} ${where}, so losing that node or volume loses every visit since your last dump, and there is no point-in-time restore; volume backup writes a pg_dump to this machine`,
    fix: input.backupCommand,
  }
}

/** The line `status --target swarm` prints. */
export function describeProtection(protection: SwarmProtection): string[] {
  return [`protection: ${protection.detail}`, ...(protection.fix ? [`  take a copy: ${protection.fix}`] : [])]
}

/** doctor's `archiving` check on a swarm: a warning, never a failure (the stack works; its data is less safe). */
export function protectionCheck(protection: SwarmProtection): CheckResult {
  return {
    name: 'archiving',
    status: 'warn',
    detail: protection.detail,
    ...(protection.fix ? {fix: protection.fix} : {}),
  }
}
