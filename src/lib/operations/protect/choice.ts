/** Whether a stack's db archives its WAL, and the line `up` says about it. Pure. */
import type {StackImages} from '../../engine/images/stack-images.js'

export interface ArchiveChoice {
  on: boolean
  /** One line for the user; undefined when archiving is simply on or off as asked. */
  note?: string
}

/** What stack.json said before this run, and the commands that change it, as printed (with --dir …). */
export interface ArchiveHistory {
  /** undefined: a stack made before archiving was on by default, which never chose. */
  had: boolean | undefined
  /** A new stack: nothing to compare with. */
  fresh: boolean
  optIn: string
  backupsVolume: string
}

export function archiveChoice(
  wanted: boolean,
  images: Pick<StackImages, 'source' | 'postgres'>,
  history?: ArchiveHistory,
): ArchiveChoice {
  if (!wanted) {
    // Said once: the render records the choice (off), so the next up finds the setting.
    if (history && !history.fresh && history.had === undefined) {
      return {
        on: false,
        note: `WAL archiving stays off for this stack, made before it was on by default: ${history.optIn} turns it on (its db is recreated with archiving on, into the volume ${history.backupsVolume}, and a first full backup is taken)`,
      }
    }
    return {on: false}
  }
  if (images.source !== 'local') {
    return {
      on: false,
      note: `WAL archiving is off: ${images.postgres} has no pgBackRest (the local images do); use --image-source local to archive`,
    }
  }
  if (history && !history.fresh && history.had !== true) {
    return {
      on: true,
      note: `turning WAL archiving on: the db is recreated with archive_mode on, its WAL goes into the volume ${history.backupsVolume} from now on, and a first full backup is taken`,
    }
  }
  return {on: true}
}
