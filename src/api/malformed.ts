/**
 * Answers for requests node:http cannot or should not hand to the routes: parse errors (which node would
 * answer with a bare `400` or a reset), CONNECT, HTTP versions other than 1.x, HTTP/1.1 without Host, and a
 * GET that carries a body (the visit would be recorded before the body is known to be well formed).
 * Everything here is off the hot path except `refuseRequest`, which only reads fields node has already
 * parsed and returns shared constants.
 */
import {STATUS_CODES, type IncomingMessage, type ServerResponse} from 'node:http'
import type {Duplex} from 'node:stream'

export interface JsonResponse {
  status: number
  body: unknown
  /** The body already serialised (the hot path's replies); `body` is then not read. */
  json?: string
  headers?: Record<string, string>
}

export const ALLOWED_METHODS = 'GET'

/** How long a refused connection keeps reading (and discarding) what the client still sends. */
export const LINGER_MS = 1000

export const METHOD_NOT_ALLOWED: JsonResponse = {
  status: 405,
  body: {error: 'method not allowed'},
  headers: {Allow: ALLOWED_METHODS},
}
const VERSION_NOT_SUPPORTED: JsonResponse = {status: 505, body: {error: 'HTTP version not supported: use HTTP/1.1'}}
const MISSING_HOST: JsonResponse = {
  status: 400,
  body: {error: 'bad request: HTTP/1.1 needs a Host header'},
  headers: {Connection: 'close'},
}
const GET_WITH_BODY: JsonResponse = {status: 400, body: {error: 'bad request: GET takes no body'}}
export const MALFORMED_PATH: JsonResponse = {
  status: 400,
  body: {error: 'bad request: the path is not valid percent-encoded UTF-8'},
}

/** The requests the routes never see; undefined for the rest (no allocation on that path). */
export function refuseRequest(req: IncomingMessage): JsonResponse | undefined {
  if (req.httpVersionMajor !== 1) return VERSION_NOT_SUPPORTED
  // node builds `req.headers` for every HTTP/1.1 request anyway (its own Host check, disabled in favour of this one).
  const {headers} = req
  if (req.httpVersionMinor === 1 && headers.host === undefined) return MISSING_HOST
  if (req.method === 'GET') {
    const length = headers['content-length']
    if (headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')) return GET_WITH_BODY
  }
  return undefined
}

/** decodeURIComponent throws on a bad escape or on bytes that are not UTF-8. */
export function isWellFormedPath(path: string): boolean {
  if (!path.includes('%')) return true
  try {
    decodeURIComponent(path)
    return true
  } catch {
    return false
  }
}

export interface ParseError {
  code?: string
  rawPacket?: Buffer
  bytesParsed?: number
}

const TOKEN_THEN_SPACE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ /
const REQUEST_LINE_START = /^[A-Z]+ /

const badRequest = (error: string): JsonResponse => ({status: 400, body: {error: `bad request: ${error}`}})

/**
 * The answer to a parse error of llhttp (codes `HPE_*`) or a request timeout, or undefined for a socket
 * error (reset, broken pipe), which leaves nothing to answer.
 */
export function parseErrorResponse(error: ParseError): JsonResponse | undefined {
  const {code = ''} = error
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return {status: 408, body: {error: 'request timeout'}}
  if (!code.startsWith('HPE_')) return undefined
  const raw = error.rawPacket ?? Buffer.alloc(0)
  const seen = raw.subarray(0, error.bytesParsed).toString('latin1')
  switch (code) {
    case 'HPE_INVALID_METHOD': {
      // A well-formed method llhttp does not know (FOO, BREW, get) is refused like PUT; anything else (a TLS
      // handshake, binary noise) is not HTTP at all. llhttp stops inside the method: read its whole line.
      const start = seen.lastIndexOf('\n') + 1
      const line = raw.subarray(start, start + 64).toString('latin1')
      return TOKEN_THEN_SPACE.test(line) ? METHOD_NOT_ALLOWED : badRequest('malformed request line')
    }
    case 'HPE_HEADER_OVERFLOW': {
      // llhttp counts the request line and the headers against one limit (16 KB). The chunk read when it
      // overflowed tells which was too long when it holds the start of the request: a URL that began in an
      // earlier read is reported as 431.
      if (REQUEST_LINE_START.test(seen) && !seen.includes('\n')) return {status: 414, body: {error: 'URL too long'}}
      return {status: 431, body: {error: 'request headers too large'}}
    }
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return {status: 413, body: {error: 'chunk extensions too large'}}
    case 'HPE_INVALID_VERSION':
    case 'HPE_PAUSED_H2_UPGRADE':
      return VERSION_NOT_SUPPORTED
    case 'HPE_INVALID_URL':
      return badRequest('malformed URL')
    case 'HPE_INVALID_CHUNK_SIZE':
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_INVALID_TRANSFER_ENCODING':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
    case 'HPE_STRICT':
      return badRequest('malformed body framing')
    case 'HPE_INVALID_EOF_STATE':
      return badRequest('incomplete request')
    default:
      return badRequest('malformed request')
  }
}

/** A whole HTTP/1.1 response, for a socket node:http no longer writes to. */
export function rawResponse(response: JsonResponse): string {
  const payload = JSON.stringify(response.body)
  const headers = {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(payload)),
    'Cache-Control': 'no-store',
    Connection: 'close',
    ...response.headers,
  }
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`)
  return `HTTP/1.1 ${response.status} ${STATUS_CODES[response.status]}\r\n${lines.join('')}\r\n${payload}`
}

const answered = new WeakSet<Duplex>()
const ignore = () => {}

/** What node:http keeps on a server socket: the response being written and the request being parsed. */
interface HttpSocket extends Duplex {
  _httpMessage?: ServerResponse | null
  parser?: {incoming: IncomingMessage | null} | null
}

/**
 * Sends `response` once every earlier request on the connection has had its answer, then half-closes: the
 * client reads the answer before the connection goes, where closing with its unread bytes still arriving (a
 * 100 KB URL) would reset it. Whatever it still sends is discarded for LINGER_MS. A request whose answer
 * has already begun never gets a second one: the socket is destroyed instead.
 */
export function answerAndClose(socket: HttpSocket, response: JsonResponse | undefined): void {
  // node calls clientError again for every further chunk of a request it has already failed to parse.
  if (answered.has(socket)) return
  if (response === undefined || !socket.writable) {
    socket.destroy()
    return
  }
  answered.add(socket)
  if (socket.listenerCount('error') === 0) socket.on('error', ignore)
  // A body that turned out malformed belongs to the request being parsed; a bad request line or header to a
  // request that node never handed over.
  const incoming = socket.parser?.incoming
  const broken = incoming && !incoming.complete ? incoming : undefined
  const send = () => {
    if (!socket.writable) return socket.destroy()
    socket.end(rawResponse(response))
    const linger = setTimeout(() => socket.destroy(), LINGER_MS).unref()
    socket.once('close', () => clearTimeout(linger))
  }
  const afterEarlierAnswers = (): void => {
    const current = socket._httpMessage
    if (current === null || current === undefined) {
      // Nothing in flight: the broken request, if any, has been answered already.
      if (broken === undefined) send()
      else socket.destroy()
    } else if (current.req === broken) {
      // Its route's answer is still to come, and is then dropped: the socket is ended.
      if (current.headersSent) socket.destroy()
      else send()
    } else {
      // node assigns the next queued response to the socket on `finish`, before this listener runs.
      current.once('finish', afterEarlierAnswers)
    }
  }
  afterEarlierAnswers()
}
