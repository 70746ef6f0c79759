/**
 * Reading the engine's disk-usage answer (GET /system/df) for one volume, across API versions. Pure.
 */
interface DfVolume {
  Name?: string
  UsageData?: {Size?: number} | null
}

/**
 * The size of one volume from GET /system/df. Engines before API 1.52 answer `Volumes: [...]`; newer ones
 * answer `VolumesDiskUsage: {Items: [...]}` (Items only in verbose mode). -1 when the engine does not know,
 * undefined when the volume is not listed at all.
 */
export function volumeSizeFromDf(df: unknown, name: string): number | undefined {
  const volumes = dfVolumes(df)
  const entry = volumes?.find((v) => v.Name === name)
  if (!entry) return undefined
  const size = entry.UsageData?.Size
  return typeof size === 'number' && Number.isFinite(size) && size >= 0 ? size : -1
}

/** True for a newer engine's summary-only answer, which needs the verbose query to list volumes. */
export function dfIsSummaryOnly(df: unknown): boolean {
  const record = asRecord(df)
  return record !== undefined && !Array.isArray(record.Volumes) && dfVolumes(df) === undefined
}

function dfVolumes(df: unknown): DfVolume[] | undefined {
  const record = asRecord(df)
  if (!record) return undefined
  if (Array.isArray(record.Volumes)) return record.Volumes as DfVolume[]
  const items = asRecord(record.VolumesDiskUsage)?.Items
  return Array.isArray(items) ? (items as DfVolume[]) : undefined
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined
}

/**
 * The engine runs one disk-usage operation at a time and answers a second with HTTP 500 "a disk usage operation
 * is already running" (another stackctl, `docker system df`, a parallel test): that is busy, not broken.
 */
export function isDiskUsageBusy(error: unknown): boolean {
  return error instanceof Error && /a disk usage operation is already running/i.test(error.message)
}
