import { HEADER_OUTPUT_LIMIT, LOG_PART_LIMIT, LOG_PREFIX, LOOPBACK_HEADER_OUTPUT_LIMIT } from '../timing/output';
import { TOKEN_ENV } from '../names/debug-headers';
import type { DebugCommand } from './args';
import type { DebugReply } from './request';
import { printable, wrap } from './render';
import type { Truncation } from './waterfall';

/** The line printed for the response: method, URL, status, body size and the time the client saw. */
export function statusLine(command: DebugCommand, reply: DebugReply, unicode: boolean): string {
  const status = `${reply.status} ${printable(reply.statusText, unicode)}`.trimEnd();
  return (
    `${command.method} ${printable(command.url.href, unicode)} ${unicode ? '→' : '->'} ${status}, ` +
    `${reply.bodyBytes} bytes in ${reply.elapsedMs.toFixed(2)} ms`
  );
}

/** Why a response may lack the output header: what to check, given what was sent. */
export function notDebuggedMessage(command: DebugCommand): string {
  const output = `${command.headerPrefix}-Output`;
  const tokenReason =
    command.token === undefined
      ? `- the server does not see a loopback client and no token was sent: pass --token (or set ${TOKEN_ENV}) ` +
        `with the server's token (TimingInstrumentation's token option or its ${TOKEN_ENV});`
      : `- the server does not see a loopback client and the token sent is not its token (a wrong token is ` +
        `ignored without a word);`;
  return [
    `No ${output} header in the response: the server did not debug this request. Check:`,
    tokenReason,
    `- behind a proxy, the server must list the proxy in trustedProxies, and the proxy must pass the ` +
      `${command.headerPrefix} headers on;`,
    `- request debugging may be off (DYNAMIC_HOOKS_REQUEST_DEBUG=off, requestDebug: false, or no ` +
      `TimingInstrumentation registered in that process);`,
    `- the server may use another header prefix: pass --header-prefix (e.g. X-Kong-Request-Debug).`,
  ].join('\n');
}

/** Where the tree went when the server sent a truncation notice instead, and how to draw it from there. */
export function truncationMessage(truncation: Truncation, unicode: boolean, width: number): string {
  const id = truncation.requestId === undefined ? undefined : printable(truncation.requestId, unicode);
  const lines = [
    ...wrap(
      `The output was truncated: the tree is too large for a header (over ${HEADER_OUTPUT_LIMIT / 1024} KB for ` +
        `a non-loopback client, ${LOOPBACK_HEADER_OUTPUT_LIMIT / 1024} KB for a loopback one), so the server ` +
        `wrote the full tree to its log` +
        (id === undefined ? '.' : ` under request_id ${id}.`) +
        ` Its log lines start with ${LOG_PREFIX}; a tree over ${LOG_PART_LIMIT / 1024} KB is split into ` +
        `"parts: i/n" lines, which show puts back together. Draw it with:`,
      width,
    ),
    `  grep -F 'request_id: ${id ?? '<request id>'}' <server log> | npx dynamic-hooks show -`,
  ];
  if (truncation.message !== undefined)
    lines.push(...wrap(`(server: ${printable(truncation.message, unicode)})`, width));
  return lines.join('\n');
}
