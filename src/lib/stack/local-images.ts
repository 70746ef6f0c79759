import {buildImages} from '../images/builder.js'

/** What `up` runs when it needs local images that are missing: `stackctl images build`, with its progress. */
export async function buildLocalImages(progress: (line: string) => void): Promise<void> {
  progress('building the local base images from Debian packages (about a minute)…')
  await buildImages({progress})
}
