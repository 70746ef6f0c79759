/** Placeholder until the image builder lands. */
export async function buildLocalImages(progress: (line: string) => void): Promise<void> {
  progress('building local base images')
}
