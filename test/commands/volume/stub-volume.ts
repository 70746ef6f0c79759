/**
 * Makes a data volume by hand for a test project, named and labelled as Compose would name the stack's, with
 * the given files written into it (e.g. a PG_VERSION of another major). Registers it (and the writer
 * container, removed before it) with the test's cleanup.
 */
import {Cleanup, docker} from '../../helpers/docker.js'

export async function stubPgVolume(project: string, files: Record<string, string>, cleanup: Cleanup): Promise<string> {
  const name = `${project}_postgres_data`
  await docker.createVolume({
    Name: name,
    Labels: {'com.docker.compose.project': project, 'com.docker.compose.volume': 'postgres_data'},
  })
  cleanup.volume(name)
  const script = Object.entries(files)
    .map(([file, content]) => `mkdir -p "$(dirname "/v/${file}")" && printf '%s\\n' '${content}' > "/v/${file}"`)
    .join(' && ')
  if (!script) return name
  const container = await docker.createContainer({
    Image: 'stackctl/postgres:17',
    Entrypoint: ['sh', '-c', script],
    NetworkDisabled: true,
    HostConfig: {Binds: [`${name}:/v`], NetworkMode: 'none'},
  })
  cleanup.container(container.id)
  await container.start()
  const {StatusCode} = (await container.wait()) as {StatusCode: number}
  if (StatusCode !== 0) throw new Error(`writing the stub files into ${name} failed (exit ${StatusCode})`)
  await container.remove({force: true, v: true})
  return name
}
