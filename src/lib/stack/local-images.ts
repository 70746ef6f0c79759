import {buildImages} from '../images/builder.js'

/**
 * What `up` runs when it uses local images: `stackctl images build`, with its progress. It builds what is
 * missing (about a minute) and refreshes an image whose template changed; current images cost a look-up.
 */
export async function buildLocalImages(progress: (line: string) => void, pgMajor?: number): Promise<void> {
  await buildImages({progress, pgMajors: pgMajor === undefined ? undefined : [pgMajor]})
}
