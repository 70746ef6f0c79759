/**
 * The HTTP layer: routing, JSON responses and timeouts on node:http. Storage is injected (VisitStore), so
 * routing and error mapping are tested without a database.
 */
import http from 'node:http'
import type {Duplex} from 'node:stream'

import {DatabaseUnavailableError, unavailableReason, type RecordedVisit, type Visit, type VisitStore} from './db.js'
import {errorFields, type Logger} from './log.js'
import {
  answerAndClose,
  isWellFormedPath,
  MALFORMED_PATH,
  METHOD_NOT_ALLOWED,
  parseErrorResponse,
  type ParseError,
  refuseRequest,
  type JsonResponse,
} from './malformed.js'
import {parseVisitsQuery} from './query.js'
import {STACK_HEADER} from './healthz-protocol.js'

export interface ServerDeps {
  store: VisitStore
  logger: Logger
  message: string
  /** The host name that served the reply (a swarm's replicas run as their node's name). */
  host: string
  /** The stack it serves, sent in every answer's STACK_HEADER (healthz-protocol.ts); null: no header. */
  stack?: string | null
}

/** Longer than the database timeouts, so a slow query ends with a JSON 503 rather than a dropped socket. */
export const SERVER_TIMEOUTS = {requestTimeout: 15_000, headersTimeout: 10_000, keepAliveTimeout: 5_000}

/** The request target's query string, without its `?` ('' when there is none); parsed only where a route reads it. */
type Handler = (query: string) => Promise<JsonResponse>

function visitJson(visit: Visit) {
  return {id: visit.id, visitedAt: visit.visitedAt.toISOString()}
}

/**
 * The reply to `GET /`, serialised by hand: what JSON.stringify gives for {message, visits, visit: {id,
 * visitedAt}, host}, with the two constant strings encoded once. The visits of one batch share one Date, so
 * its ISO text is kept for the next reply.
 */
export function visitReplyWriter(message: string, host: string): (recorded: RecordedVisit) => string {
  const head = `{"message":${JSON.stringify(message)},"visits":`
  const tail = `,"host":${JSON.stringify(host)}}`
  let lastDate: Date | undefined
  let lastIso = ''
  return ({visit, total}) => {
    if (visit.visitedAt !== lastDate) {
      lastIso = visit.visitedAt.toISOString()
      lastDate = visit.visitedAt
    }
    return `${head}${total},"visit":{"id":${visit.id},"visitedAt":"${lastIso}"}${tail}`
  }
}

function routes({store, message, host}: ServerDeps): Record<string, Handler> {
  const visitReply = visitReplyWriter(message, host)
  return {
    '/': async () => ({status: 200, body: undefined, json: visitReply(await store.recordVisit())}),
    '/visits': async (query) => {
      const parsed = parseVisitsQuery(new URLSearchParams(query))
      if (!parsed.ok) return {status: 400, body: {error: parsed.error}}
      const page = await store.listVisits(parsed.value)
      return {status: 200, body: {visits: page.visits.map(visitJson), nextBefore: page.nextBefore}}
    },
    '/healthz': async () => {
      try {
        await store.ping()
        return {status: 200, body: {status: 'ok'}}
      } catch (error) {
        if (!(error instanceof DatabaseUnavailableError)) throw error
        return {status: 503, body: {status: 'unavailable', database: 'not answering', reason: unavailableReason(error)}}
      }
    },
  }
}

/** Splits the request target by hand: `new URL('//x', base)` would read `x` as a host name. */
function splitTarget(target: string): {path: string; query: string} {
  const mark = target.indexOf('?')
  if (mark === -1) return {path: target, query: ''}
  return {path: target.slice(0, mark), query: target.slice(mark + 1)}
}

const JSON_TYPE = 'application/json; charset=utf-8'

/** Every reply's headers; a plain reply (no stack header, not closing, no extra) builds no spread copies. */
export function replyHeaders(
  response: JsonResponse,
  length: number,
  closing: boolean,
  stack?: string | null,
): http.OutgoingHttpHeaders {
  const headers: http.OutgoingHttpHeaders = {}
  if (stack) headers[STACK_HEADER] = stack
  headers['Content-Type'] = JSON_TYPE
  headers['Content-Length'] = length
  headers['Cache-Control'] = 'no-store'
  // While shutting down, a kept-alive connection is closed after its last response.
  if (closing) headers.Connection = 'close'
  if (response.headers) Object.assign(headers, response.headers)
  return headers
}

function send(res: http.ServerResponse, closing: boolean, response: JsonResponse, stack?: string | null): void {
  const payload = response.json ?? JSON.stringify(response.body)
  res.writeHead(response.status, replyHeaders(response, Buffer.byteLength(payload), closing, stack))
  res.end(payload)
}

export function createServer(deps: ServerDeps): http.Server {
  const handlers = routes(deps)

  async function respond(req: http.IncomingMessage): Promise<JsonResponse> {
    const refused = refuseRequest(req)
    if (refused !== undefined) return refused
    const {path, query} = splitTarget(req.url ?? '/')
    const handler = Object.hasOwn(handlers, path) ? handlers[path] : undefined
    if (handler === undefined)
      return isWellFormedPath(path) ? {status: 404, body: {error: 'not found'}} : MALFORMED_PATH
    if (req.method !== 'GET') return METHOD_NOT_ALLOWED
    try {
      return await handler(query)
    } catch (error) {
      if (error instanceof DatabaseUnavailableError) return {status: 503, body: {error: 'database unavailable'}}
      deps.logger.error('request failed', {method: req.method, path, ...errorFields(error, {stack: true})})
      return {status: 500, body: {error: 'internal error'}}
    }
  }

  // Host is checked by refuseRequest, so that its absence is answered in JSON too.
  const server = http.createServer({requireHostHeader: false}, (req, res) => {
    respond(req)
      .then((response) => send(res, !server.listening, response, deps.stack))
      .catch((error: unknown) => {
        deps.logger.error('response failed', errorFields(error, {stack: true}))
        res.destroy()
      })
  })
  server.on('clientError', (error: Error & ParseError, socket) => answerAndClose(socket, parseErrorResponse(error)))
  // Without a listener node resets the connection; the socket no longer has node's error handling.
  server.on('connect', (_req, socket: Duplex) => {
    answerAndClose(socket, METHOD_NOT_ALLOWED)
    socket.resume()
  })
  return Object.assign(server, SERVER_TIMEOUTS)
}

/**
 * Stops accepting connections, lets in-flight requests finish, closes idle kept-alive connections, and
 * resolves once every connection is gone.
 */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()))
    server.closeIdleConnections()
  })
}
