/**
 * HTTP over a raw TCP socket, for requests fetch() would refuse to send: malformed request lines, bad
 * framing, oversized URLs.
 */
import net from 'node:net'

export interface RawAnswer {
  /** Everything received until the connection closed. */
  text: string
  statusLine: string
  headers: Map<string, string>
  body: Record<string, unknown>
}

interface Head {
  statusLine: string
  headers: Map<string, string>
  /** Where the body starts and ends in the text; end is undefined without a Content-Length. */
  bodyStart: number
  bodyEnd?: number
}

function parseHead(text: string): Head | undefined {
  const split = text.indexOf('\r\n\r\n')
  if (split === -1) return undefined
  const [statusLine, ...lines] = text.slice(0, split).split('\r\n')
  const headers = new Map(
    lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
  )
  const length = headers.get('content-length')
  return {
    statusLine,
    headers,
    bodyStart: split + 4,
    bodyEnd: length === undefined ? undefined : split + 4 + Number(length),
  }
}

/** The first response in `text`, or an error saying why it is not a whole JSON response. */
function parseAnswer(text: string): RawAnswer {
  const head = parseHead(text)
  if (head?.bodyEnd === undefined || text.length < head.bodyEnd) {
    throw new Error(`not a whole response with a Content-Length: ${JSON.stringify(text.slice(0, 300))}`)
  }
  const body = text.slice(head.bodyStart, head.bodyEnd)
  try {
    return {text, statusLine: head.statusLine, headers: head.headers, body: JSON.parse(body) as Record<string, unknown>}
  } catch (error) {
    throw new Error(`not JSON: ${JSON.stringify(text.slice(0, 300))}`, {cause: error})
  }
}

/**
 * Writes `parts`, then reads until the server closes the connection (a reset fails the test). With
 * `hangUp`, the client closes its side once a whole response has arrived, for answers that keep the
 * connection open.
 */
export function exchange(
  port: number,
  parts: Array<string | Buffer>,
  {hangUp = false, afterAnswer, host = '127.0.0.1'}: {hangUp?: boolean; afterAnswer?: string; host?: string} = {},
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host)
    const chunks: Buffer[] = []
    let answered = false
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      if (answered) return
      const head = parseHead(Buffer.concat(chunks).toString('latin1'))
      if (head?.bodyEnd === undefined || Buffer.concat(chunks).length < head.bodyEnd) return
      answered = true
      if (afterAnswer !== undefined) socket.write(afterAnswer)
      if (hangUp) socket.end()
    })
    socket.on('error', reject)
    socket.on('end', () => {
      socket.end()
      try {
        resolve(parseAnswer(Buffer.concat(chunks).toString('latin1')))
      } catch (error) {
        reject(error)
      }
    })
    for (const part of parts) socket.write(part)
  })
}
