/** Whether a stack's db archives its WAL, and the line `up` says about it. Pure. */
import type {StackImages} from '../../engine/images/stack-images.js'

export interface ArchiveChoice {
  on: boolean
  /** One line for the user; undefined when archiving is simply on or off as asked. */
  note?: string
}

export function archiveChoice(wanted: boolean, images: Pick<StackImages, 'source' | 'postgres'>): ArchiveChoice {
  if (!wanted) return {on: false}
  if (images.source === 'local') return {on: true}
  return {
    on: false,
    note: `WAL archiving is off: ${images.postgres} has no pgBackRest (the local images do); use --image-source local to archive`,
  }
}
