/**
 * The swarm secret that carries the password. Swarm secrets cannot be changed, so each content gets a name
 * of its own, <project>_db_password_v<N>: the same file keeps its version, a new file gets the next one. A new
 * file is only acceptable while no initialised volume may hold data (PostgreSQL reads it at initialisation
 * only). Pure.
 */
export function secretName(project: string, version: number): string {
  return `${project}_db_password_v${version}`
}

export type SecretVersion = {version: number} | {refused: true}

export function secretVersion(
  last: {secretVersion: number; passwordSha256: string} | undefined,
  passwordSha256: string,
  volumeMayHoldData: boolean,
): SecretVersion {
  if (!last) return {version: 1}
  if (last.passwordSha256 === passwordSha256) return {version: last.secretVersion}
  if (volumeMayHoldData) return {refused: true}
  return {version: last.secretVersion + 1}
}
