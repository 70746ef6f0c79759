import {expect} from 'chai'

import {isDiskUsageBusy, dfIsSummaryOnly, volumeSizeFromDf} from '../../../src/lib/engine/disk-usage.js'

describe('volume size from the disk-usage report', () => {
  const name = 'demo_postgres_data'

  it('reads the older Volumes[].UsageData.Size shape', () => {
    const df = {
      Volumes: [
        {Name: 'other', UsageData: {Size: 1}},
        {Name: name, UsageData: {Size: 4096, RefCount: 1}},
      ],
    }
    expect(volumeSizeFromDf(df, name)).to.equal(4096)
    expect(dfIsSummaryOnly(df)).to.equal(false)
  })

  it('reads the newer VolumesDiskUsage.Items shape', () => {
    const df = {VolumesDiskUsage: {TotalCount: 1, Items: [{Name: name, UsageData: {Size: 123, RefCount: 0}}]}}
    expect(volumeSizeFromDf(df, name)).to.equal(123)
    expect(dfIsSummaryOnly(df)).to.equal(false)
  })

  it('maps -1 and missing usage data to -1 (unknown)', () => {
    expect(volumeSizeFromDf({Volumes: [{Name: name, UsageData: {Size: -1}}]}, name)).to.equal(-1)
    expect(volumeSizeFromDf({Volumes: [{Name: name, UsageData: null}]}, name)).to.equal(-1)
    expect(volumeSizeFromDf({Volumes: [{Name: name}]}, name)).to.equal(-1)
  })

  it('is undefined when the volume is not listed, and spots a summary-only answer', () => {
    expect(volumeSizeFromDf({Volumes: []}, name)).to.equal(undefined)
    expect(volumeSizeFromDf({Volumes: null}, name)).to.equal(undefined)
    expect(volumeSizeFromDf(undefined, name)).to.equal(undefined)
    const summary = {VolumesDiskUsage: {TotalCount: 3, TotalSize: 999}}
    expect(volumeSizeFromDf(summary, name)).to.equal(undefined)
    expect(dfIsSummaryOnly(summary)).to.equal(true)
  })

  it('tells the engine’s "one disk-usage operation at a time" answer from a real failure', () => {
    const busy = new Error('(HTTP code 500) server error - a disk usage operation is already running ')
    expect(isDiskUsageBusy(busy)).to.equal(true)
    expect(isDiskUsageBusy(new Error('(HTTP code 500) server error - no space left on device'))).to.equal(false)
    expect(isDiskUsageBusy('a disk usage operation is already running')).to.equal(false) // not an Error
  })
})
