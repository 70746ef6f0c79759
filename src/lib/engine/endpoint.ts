/** The engine's endpoint as the docker CLI would name it: DOCKER_HOST, or the default socket. */
export function engineEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_HOST || 'unix:///var/run/docker.sock'
}
