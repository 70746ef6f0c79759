import {fileURLToPath} from 'node:url'

/** The installed package's root (holds templates/ and dist/), both from src/ under tsx and from dist/. */
export const packageRoot = fileURLToPath(new URL('../../', import.meta.url))
