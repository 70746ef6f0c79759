/**
 * What `stackctl images build` makes, as data: which images, from which Debian packages, and the argument
 * arrays for debootstrap, tar, docker import and docker build. Pure: no I/O, unit-tested.
 */
import {createHash} from 'node:crypto'

import {UsageError} from '../../errors.js'

/** The stack's base images: what `images build` (and `up`) build by default. */
export const IMAGE_NAMES = ['postgres', 'node'] as const
/**
 * Every image `images build --only` knows: the stack's, the node image of a local swarm (`swarm up`) and the
 * high-availability database tier of the swarm target (`up --target swarm --db-replicas 3`).
 */
export const ALL_IMAGE_NAMES = [...IMAGE_NAMES, 'swarm-node', 'patroni'] as const
export type ImageName = (typeof ALL_IMAGE_NAMES)[number]

export const DEFAULT_MIRROR = 'http://deb.debian.org/debian'
export const DEFAULT_SUITE = 'trixie'
/**
 * The Debian release that ships each PostgreSQL major stackctl builds locally: Debian packages one major per
 * release (bookworm 15, trixie 17), so the suite follows the major.
 */
export const PG_SUITES: Readonly<Record<number, string>> = {15: 'bookworm', 17: 'trixie'}
export const LOCAL_PG_MAJORS: readonly number[] = Object.keys(PG_SUITES).map(Number)
export const DEFAULT_LOCAL_PG_MAJOR = 17
export const IMAGE_ENV = {mirror: 'STACKCTL_DEBIAN_MIRROR', suite: 'STACKCTL_DEBIAN_SUITE'} as const

/** Remove the entries of `dir` (relative to the rootfs): all of them, or those matching `only`, never `keep`. */
export interface TrimRule {
  dir: string
  only?: RegExp
  keep?: readonly string[]
}

export interface ImageSpec {
  name: ImageName
  repository: string
  tag: string
  /** The Debian package that brings the image's program, installed with its dependencies. */
  debianPackage: string
  /** Further packages installed next to it. */
  extraPackages?: readonly string[]
  /** The Debian release the package comes from (--suite overrides it, unless pinned). */
  suite: string
  /** The release is part of the image (the swarm node's engine must match the host's): --suite leaves it. */
  pinnedSuite?: boolean
  /** --build-arg values for the final docker build (the PostgreSQL major the Dockerfile is made for). */
  buildArgs: Readonly<Record<string, string>>
  /** Folder under templates/ holding the Dockerfile that turns the rootfs into the final image. */
  templateDir: string
  /** Trimmed on top of COMMON_TRIM. */
  extraTrim: readonly TrimRule[]
}

/**
 * PostgreSQL's JIT (llvmjit and the LLVM and Z3 libraries it pulls in): about 176 MB of a 400 MB image, for a
 * compiler that pays off only on long analytical queries, never on the API's one-row statements. Without
 * llvmjit.so the server finds no JIT provider and runs every query interpreted (PostgreSQL checks for the file
 * before it loads it; `jit` stays on and does nothing). Smaller images load faster onto the swarm's nodes.
 */
function withoutJit(major: number): TrimRule[] {
  return [
    {dir: `usr/lib/postgresql/${major}/lib`, only: /^llvmjit/},
    {dir: `usr/lib/postgresql/${major}/lib/bitcode`},
    ...['x86_64', 'aarch64'].map((arch) => ({dir: `usr/lib/${arch}-linux-gnu`, only: /^lib(LLVM|z3)[-.]/})),
  ]
}

/** The local PostgreSQL image of one major: Debian's postgresql-<major> from the release that ships it. */
export function postgresSpec(major: number): ImageSpec {
  const suite = PG_SUITES[major]
  if (suite === undefined) {
    throw new UsageError(
      `local PostgreSQL images exist for majors ${LOCAL_PG_MAJORS.join(', ')}, not ${major}`,
      `use --pg-major ${LOCAL_PG_MAJORS.join(' or --pg-major ')}`,
    )
  }
  const only = new RegExp(`^${major}$`)
  return {
    name: 'postgres',
    repository: 'stackctl/postgres',
    tag: String(major),
    debianPackage: `postgresql-${major}`,
    // WAL archiving and point-in-time restore (issue 25): Debian's pgBackRest matches the release's major
    // (bookworm 2.45 covers 15; trixie 2.55 is the first Debian one that supports 17).
    extraPackages: ['pgbackrest'],
    suite,
    buildArgs: {PG_MAJOR: String(major)},
    templateDir: 'images/postgres',
    extraTrim: [
      // The package's postinst creates a cluster 'main' and a snakeoil key; the entrypoint initialises
      // $PGDATA itself, and a private key baked into an image would be shared by every container.
      {dir: 'var/lib/postgresql', only},
      {dir: 'etc/postgresql', only},
      {dir: 'etc/ssl/private', only: /^ssl-cert-snakeoil\.key$/},
      {dir: 'etc/ssl/certs', only: /^ssl-cert-snakeoil\.pem$/},
      ...withoutJit(major),
    ],
  }
}

/**
 * The HA database tier in one image (etcd member, Patroni member or HAProxy router by its command): Debian 13's
 * Patroni 4.0 is the first to run PostgreSQL 17 and to offer quorum commit; python3-etcd is its etcd3 client.
 */
export function patroniSpec(major: number): ImageSpec {
  const only = new RegExp(`^${major}$`)
  return {
    name: 'patroni',
    repository: 'stackctl/patroni',
    tag: String(major),
    debianPackage: 'patroni',
    extraPackages: [`postgresql-${major}`, 'python3-etcd', 'etcd-server', 'haproxy'],
    suite: 'trixie',
    pinnedSuite: true,
    buildArgs: {PG_MAJOR: String(major)},
    templateDir: 'images/patroni',
    extraTrim: [
      // As in the PostgreSQL image: no package-made cluster, and no private key shared by every container.
      {dir: 'var/lib/postgresql', only},
      {dir: 'etc/postgresql', only},
      {dir: 'etc/ssl/private', only: /^ssl-cert-snakeoil\.key$/},
      {dir: 'etc/ssl/certs', only: /^ssl-cert-snakeoil\.pem$/},
      {dir: 'var/log', only: /\.log$/},
      ...withoutJit(major),
    ],
  }
}

export const IMAGE_SPECS: Readonly<Record<ImageName, ImageSpec>> = {
  postgres: postgresSpec(DEFAULT_LOCAL_PG_MAJOR),
  node: {
    name: 'node',
    repository: 'stackctl/node',
    tag: '20',
    debianPackage: 'nodejs',
    suite: DEFAULT_SUITE,
    buildArgs: {},
    templateDir: 'images/node',
    extraTrim: [],
  },
  'swarm-node': {
    name: 'swarm-node',
    repository: 'stackctl/swarm-node',
    tag: '20.10',
    // Debian 12's engine: the same 20.10 as the host's, measured in a nested swarm (docs: SWARM recipe).
    debianPackage: 'docker.io',
    extraPackages: ['iptables', 'ca-certificates', 'iproute2', 'procps'],
    suite: 'bookworm',
    pinnedSuite: true,
    buildArgs: {},
    templateDir: 'images/swarm-node',
    extraTrim: [{dir: 'var/log', only: /\.log$/}],
  },
  patroni: patroniSpec(DEFAULT_LOCAL_PG_MAJOR),
}

/** What no container needs: downloaded packages, package lists, documentation and message translations. */
export const COMMON_TRIM: readonly TrimRule[] = [
  {dir: 'var/cache/apt/archives', only: /\.deb$/},
  {dir: 'var/lib/apt/lists', keep: ['partial']},
  {dir: 'usr/share/doc'},
  {dir: 'usr/share/man'},
  {dir: 'usr/share/info'},
  {dir: 'usr/share/locale', keep: ['locale.alias']},
]

export function trimRules(spec: ImageSpec): TrimRule[] {
  return [...COMMON_TRIM, ...spec.extraTrim]
}

export function shouldTrim(rule: TrimRule, entry: string): boolean {
  if (rule.keep?.includes(entry)) return false
  return rule.only ? rule.only.test(entry) : true
}

export function imageReference(spec: ImageSpec): string {
  return `${spec.repository}:${spec.tag}`
}

/** The intermediate image `docker import` makes from the trimmed rootfs; the final image builds FROM it. */
export function rootfsReference(spec: ImageSpec): string {
  return `${spec.repository}-rootfs:${spec.tag}`
}

/**
 * The images to consider: one kind when `only` names it (any image, the swarm node's included), otherwise the
 * stack's; the PostgreSQL image once per major in `pgMajors` (default: 17).
 */
export function selectSpecs(only?: string, pgMajors: readonly number[] = [DEFAULT_LOCAL_PG_MAJOR]): ImageSpec[] {
  if (only !== undefined && !(ALL_IMAGE_NAMES as readonly string[]).includes(only)) {
    throw new UsageError(`unknown image '${only}'`, `use one of: ${ALL_IMAGE_NAMES.join(', ')}`)
  }
  const names = only === undefined ? IMAGE_NAMES : [only as ImageName]
  return names.flatMap((name) =>
    name === 'postgres' ? [...new Set(pgMajors)].map((major) => postgresSpec(major)) : [IMAGE_SPECS[name]],
  )
}

/** A mirror URL without trailing slashes; only http(s), since debootstrap and the up-front check need it. */
export function normalizeMirror(mirror: string): string {
  let url: URL
  try {
    url = new URL(mirror)
  } catch {
    throw new UsageError(`invalid Debian mirror URL '${mirror}'`, `use a URL like ${DEFAULT_MIRROR}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(
      `the Debian mirror must be an http(s) URL, got '${mirror}'`,
      `use a URL like ${DEFAULT_MIRROR}`,
    )
  }
  return mirror.replace(/\/+$/, '')
}

export function validateSuite(suite: string): string {
  if (!/^[a-z][a-z0-9-]*$/.test(suite)) {
    throw new UsageError(`invalid Debian suite '${suite}'`, `use a code name like ${DEFAULT_SUITE}`)
  }
  return suite
}

/** The file the mirror check asks for: present exactly when the mirror carries the suite. */
export function releaseUrl(mirror: string, suite: string): string {
  return `${mirror}/dists/${suite}/Release`
}

export interface SourceOptions {
  mirror: string
  suite: string
}

/** Where an image's packages come from: the spec's own release unless a suite was asked for and it is not pinned. */
export function sourceFor(spec: ImageSpec, mirror: string, suite?: string): SourceOptions {
  return {mirror, suite: spec.pinnedSuite ? spec.suite : (suite ?? spec.suite)}
}

export function debootstrapArgs(spec: ImageSpec, rootfs: string, source: SourceOptions): string[] {
  const packages = [spec.debianPackage, ...(spec.extraPackages ?? [])].join(',')
  return ['--variant=minbase', `--include=${packages}`, source.suite, rootfs, source.mirror]
}

/** The rootfs as a tar stream on stdout; numeric owners so names on the host cannot remap the image's users. */
export function tarArgs(rootfs: string): string[] {
  return ['--create', '--numeric-owner', '--directory', rootfs, '--file', '-', '.']
}

export function importArgs(spec: ImageSpec, source: SourceOptions): string[] {
  const suite = source.suite
  return ['import', '--message', `debootstrap ${suite} ${spec.debianPackage}`, '-', rootfsReference(spec)]
}

export const BUILD_LABEL_PREFIX = 'io.stackctl.image'

export function buildLabels(
  spec: ImageSpec,
  source: SourceOptions,
  packageVersion: string,
  templateSha256: string,
): Record<string, string> {
  return {
    [`${BUILD_LABEL_PREFIX}.package`]: spec.debianPackage,
    [`${BUILD_LABEL_PREFIX}.package-version`]: packageVersion,
    [`${BUILD_LABEL_PREFIX}.suite`]: source.suite,
    [PACKAGES_LABEL]: packageSet(spec),
    [TRIM_LABEL]: trimDigest(spec),
    [TEMPLATE_LABEL]: templateSha256,
  }
}

/** Records what was trimmed from the rootfs, so an image trimmed by older rules is rebuilt. */
export const TRIM_LABEL = `${BUILD_LABEL_PREFIX}.trim`

/** A short digest of the image's trim rules (folders, patterns, exceptions), in their order. */
export function trimDigest(spec: ImageSpec): string {
  const rules = trimRules(spec).map((r) => [r.dir, r.only?.source ?? null, r.keep ?? null])
  return createHash('sha256').update(JSON.stringify(rules)).digest('hex').slice(0, 16)
}

/** Records every Debian package asked for, so an image built before a package was added is rebuilt. */
export const PACKAGES_LABEL = `${BUILD_LABEL_PREFIX}.packages`

/** The image's packages as a label value: sorted, comma-separated, so the order in the spec does not matter. */
export function packageSet(spec: ImageSpec): string {
  return [spec.debianPackage, ...(spec.extraPackages ?? [])].sort().join(',')
}

/** Records which template files an image was built from, so an image older than its template is rebuilt. */
export const TEMPLATE_LABEL = 'io.stackctl.template-sha256'

export interface TemplateFile {
  /** Relative to the template directory, with forward slashes. */
  path: string
  content: Buffer
}

/** sha256 over the template directory's files: their paths and contents, in path order. */
export function templateDigest(files: readonly TemplateFile[]): string {
  const hash = createHash('sha256')
  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    hash.update(`${file.path}\0${file.content.length}\0`)
    hash.update(file.content)
  }
  return hash.digest('hex')
}

/**
 * What to do for one image: keep it; `finish` it, i.e. run only the final `docker build` of the current
 * template on the rootfs image that is there (seconds); or build it `full`y from debootstrap (a minute, root).
 */
export type BuildPlan = {action: 'keep'} | {action: 'finish'; reason: string} | {action: 'full'; reason: string}

export interface ImageState {
  /** The labels of the present image; undefined when it is missing. */
  imageLabels?: Record<string, string>
  rootfsPresent: boolean
  /** templateDigest() of the template directory as it is now. */
  templateSha256: string
  /** packageSet() of the spec: an image whose recorded packages differ needs a new rootfs. */
  packages?: string
  /** trimDigest() of the spec: an image trimmed by other rules needs a new rootfs. */
  trim?: string
  force?: boolean
}

export function planBuild(state: ImageState): BuildPlan {
  if (state.force) return {action: 'full', reason: 'forced'}
  if (!state.imageLabels) return {action: 'full', reason: 'missing'}
  const packages = packagesStaleness(state.imageLabels, state.packages)
  if (packages) return {action: 'full', reason: packages}
  if (state.trim !== undefined && state.imageLabels[TRIM_LABEL] !== state.trim) {
    const reason = state.imageLabels[TRIM_LABEL]
      ? 'stale: what its rootfs leaves out changed since it was built'
      : 'stale: built before images recorded what their rootfs leaves out'
    return {action: 'full', reason}
  }
  const built = state.imageLabels[TEMPLATE_LABEL]
  if (built === state.templateSha256) return {action: 'keep'}
  const reason = built
    ? 'stale: its template changed since it was built'
    : 'stale: built before images recorded their template'
  return state.rootfsPresent
    ? {action: 'finish', reason}
    : {action: 'full', reason: `${reason}, and its rootfs is gone`}
}

/**
 * Why the image's packages are not the spec's, or undefined when they are. Images from before the packages
 * label recorded only their main package: that is all they are known to hold.
 */
function packagesStaleness(labels: Record<string, string>, expected?: string): string | undefined {
  if (expected === undefined) return undefined
  const recorded = labels[PACKAGES_LABEL]
  if (recorded === expected) return undefined
  if (recorded !== undefined) return `stale: its packages changed (built with ${recorded}, now ${expected})`
  if (labels[`${BUILD_LABEL_PREFIX}.package`] === expected) return undefined
  return `stale: built before images recorded their packages (now ${expected})`
}

/** The labels of a finished image: the package labels of the image it replaces, with the new template digest. */
export function finishLabels(previous: Record<string, string>, templateSha256: string): Record<string, string> {
  const kept = Object.entries(previous).filter(([key]) => key.startsWith(`${BUILD_LABEL_PREFIX}.`))
  return {...Object.fromEntries(kept), [TEMPLATE_LABEL]: templateSha256}
}

export function buildArgs(spec: ImageSpec, contextDir: string, labels: Record<string, string>): string[] {
  return [
    'build',
    '--build-arg',
    `ROOTFS_IMAGE=${rootfsReference(spec)}`,
    ...Object.entries(spec.buildArgs).flatMap(([key, value]) => ['--build-arg', `${key}=${value}`]),
    ...Object.entries(labels).flatMap(([key, value]) => ['--label', `${key}=${value}`]),
    '--tag',
    imageReference(spec),
    contextDir,
  ]
}

/**
 * Environment for `docker build`. Without the buildx plugin, a docker CLI that has BuildKit switched on (by
 * DOCKER_BUILDKIT=1 or its defaults) refuses to build; the legacy builder works with every engine and our
 * Dockerfiles need nothing from BuildKit.
 */
export function buildEnv(buildxAvailable: boolean): Record<string, string> {
  return buildxAvailable ? {} : {DOCKER_BUILDKIT: '0'}
}

/** The installed version of a package, from the text of a dpkg status file. */
export function packageVersion(dpkgStatus: string, name: string): string | undefined {
  for (const stanza of dpkgStatus.split(/\n\s*\n/)) {
    const fields = new Map(
      stanza
        .split('\n')
        .map((line) => /^([A-Za-z-]+):\s*(.*)$/.exec(line))
        .filter((match): match is RegExpExecArray => match !== null)
        .map((match) => [match[1].toLowerCase(), match[2].trim()]),
    )
    if (fields.get('package') === name && fields.get('status')?.endsWith(' installed')) return fields.get('version')
  }
  return undefined
}
