import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RouteConfig } from '../config';

/** What a plugin sees of one proxied request. */
export interface PluginContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly route: RouteConfig;
  /** The client's address as the gateway sees it. */
  readonly clientAddress: string;
}

/** An upstream response held in memory (for plugins that buffer). */
export interface BufferedResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A gateway plugin: handlers for the phases it takes part in. */
export interface Plugin {
  readonly name: string;
  readonly id: string;
  /** Access phase; returns `'responded'` if it answered the request itself (the proxying stops). */
  access?(context: PluginContext): Promise<'responded' | undefined>;
  /** Set if the plugin needs the whole upstream response: the gateway then runs the response phase. */
  readonly buffersResponse?: boolean;
  /** Response phase (buffered responses only): may change the response before it is sent. */
  response?(context: PluginContext, response: BufferedResponse): Promise<void>;
}
