import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';

/** One WebDriver command as WebdriverIO sent it. */
export interface RecordedCommand {
  method: string;
  /** Path after /session/<id>, or the full path for session-less routes. */
  route: string;
  body: Record<string, unknown>;
}

export class WebDriverCommandError extends Error {
  constructor(
    readonly error: string,
    message: string,
    readonly status = 500,
  ) {
    super(message);
  }
}

/** Answers one command: return the W3C `value`, or throw WebDriverCommandError. */
export type CommandHandler = (cmd: RecordedCommand) => unknown | Promise<unknown>;

/**
 * A small HTTP server speaking the W3C WebDriver wire protocol, standing in for Appium plus a
 * phone (none exists here). It records every command WebdriverIO sends so that tests can
 * check the command sequence an adapter produces.
 */
export class FakeWebDriverServer {
  readonly commands: RecordedCommand[] = [];
  sessionCaps: Record<string, unknown> = {};
  private server?: Server;
  private sessions = 0;

  constructor(private readonly handle: CommandHandler) {}

  get url(): string {
    const a = this.server!.address() as { port: number };
    return `http://127.0.0.1:${a.port}/`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
        const m = /^\/session\/([^/]+)(\/.*)?$/.exec(req.url ?? '');
        const route = m ? (m[2] ?? '') : (req.url ?? '');
        const cmd: RecordedCommand = { method: req.method ?? 'GET', route, body };
        this.commands.push(cmd);
        const send = (status: number, value: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
          res.end(JSON.stringify({ value }));
        };
        try {
          if (req.method === 'POST' && req.url === '/session') {
            const caps = ((body.capabilities as Record<string, unknown>)?.alwaysMatch ?? {}) as Record<string, unknown>;
            this.sessionCaps = caps;
            return send(200, { sessionId: `fake-${++this.sessions}-${randomUUID()}`, capabilities: { ...caps, platformVersion: '14' } });
          }
          if (req.method === 'DELETE' && m && !m[2]) return send(200, null);
          send(200, (await this.handle(cmd)) ?? null);
        } catch (err) {
          const e = err as WebDriverCommandError;
          send(e.status ?? 500, { error: e.error ?? 'unknown error', message: e.message, stacktrace: '' });
        }
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** Commands in a compact form: `push_file <path>`, `execute mobile: shell …`, `install_app <path>`. */
  trace(): string[] {
    return this.commands.map((c) => {
      if (c.route === '/execute/sync') {
        const a = (c.body.args as Record<string, unknown>[])[0] ?? {};
        const detail = a.command === 'sh' ? (a.args as string[])[1] : JSON.stringify(a);
        return `${c.body.script} ${detail}`;
      }
      if (c.method === 'DELETE' && c.route === '') return 'delete session';
      const name = c.route.split('/').pop();
      const arg = c.body.path ?? c.body.appPath ?? '';
      return `${c.method === 'POST' && c.route === '/session' ? 'new session' : name} ${arg}`.trim();
    });
  }
}
