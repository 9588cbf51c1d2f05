import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** The api answered with its error shape `{error: {code, message, details}}`, or could not be reached. */
export class ApiRequestError extends Error {
  override name = 'ApiRequestError';
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** A thin client of the REST api under /api/v1. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token?: string,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...extra };
  }

  async request<T>(method: string, pathname: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${pathname}`, {
        method,
        headers: this.headers(body === undefined ? {} : { 'content-type': 'application/json' }),
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiRequestError(
        `cannot reach the pocketbench api at ${this.baseUrl} (${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}); start it with "npm start" or set POCKETBENCH_URL`,
        0,
        'unreachable',
      );
    }
    return this.parse<T>(res, `${method} ${pathname}`);
  }

  private async parse<T>(res: Response, what: string): Promise<T> {
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const e = (json as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
      throw new ApiRequestError(e?.message ?? `${what} failed with HTTP ${res.status}`, res.status, e?.code ?? `http_${res.status}`, e?.details);
    }
    return json as T;
  }

  get<T>(pathname: string): Promise<T> {
    return this.request<T>('GET', pathname);
  }

  post<T>(pathname: string, body: unknown): Promise<T> {
    return this.request<T>('POST', pathname, body);
  }

  /** Multipart upload of one model file with its form fields. */
  async upload<T>(pathname: string, file: string, fields: Record<string, string | undefined>): Promise<T> {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err) {
      throw new ApiRequestError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`, 0, 'bad_file');
    }
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) form.set(k, v);
    form.set('file', new Blob([new Uint8Array(bytes)]), path.basename(file));
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${pathname}`, { method: 'POST', headers: this.headers(), body: form });
    } catch (err) {
      throw new ApiRequestError(`cannot reach the pocketbench api at ${this.baseUrl} (${(err as Error).message}); start it with "npm start" or set POCKETBENCH_URL`, 0, 'unreachable');
    }
    return this.parse<T>(res, `upload ${path.basename(file)}`);
  }

  /** Server-sent events of a URL; yields each event's parsed data until the stream ends or `signal` aborts. */
  async *events(pathname: string, signal?: AbortSignal): AsyncGenerator<{ event: string; data: unknown }> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${pathname}`, { headers: this.headers({ accept: 'text/event-stream' }), signal });
    } catch (err) {
      if (signal?.aborted) return;
      throw new ApiRequestError(`cannot reach the pocketbench api at ${this.baseUrl} (${(err as Error).message})`, 0, 'unreachable');
    }
    if (!res.ok || !res.body) await this.parse(res, `GET ${pathname}`);
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let idx: number;
        while ((idx = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, idx);
          buffer = buffer.slice(idx + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
          }
          if (!data.length) continue;
          let parsed: unknown = data.join('\n');
          try {
            parsed = JSON.parse(parsed as string);
          } catch {
            /* plain-text data stays a string */
          }
          yield { event, data: parsed };
        }
      }
    } catch (err) {
      if (signal?.aborted) return;
      throw err;
    }
  }
}
