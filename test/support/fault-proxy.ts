import net from 'node:net';

export interface FaultProxyOptions {
  /** Where connections are forwarded. */
  target: { host: string; port: number };
  /** 0 picks a free port. @defaultValue 0 */
  port?: number;
}

/**
 * A TCP proxy in front of a real server (Postgres, Redis) that a test uses to inject network
 * faults: `cut()` resets every open connection, `refuse()` also stops listening (new
 * connections get ECONNREFUSED, like a restarting server), `stall()` keeps connections open
 * but forwards nothing (a link gone down), and `outage(ms)` is a refusal for `ms` then recovery.
 */
export class FaultProxy {
  private server?: net.Server;
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  private stalled = false;
  port = 0;

  constructor(private readonly opts: FaultProxyOptions) {}

  get host(): string {
    return '127.0.0.1';
  }

  /** `scheme://127.0.0.1:port` + the rest of `url` (user, database, …) pointed at the proxy. */
  rewrite(url: string): string {
    const u = new URL(url);
    u.hostname = this.host;
    u.port = String(this.port);
    return u.toString();
  }

  /** Accepted connections currently open. */
  get connections(): number {
    return this.pairs.size;
  }

  async start(): Promise<this> {
    await this.listen(this.opts.port ?? 0);
    return this;
  }

  private listen(port: number): Promise<void> {
    const server = net.createServer((client) => this.accept(client));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.host, () => {
        server.off('error', reject);
        this.port = (server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  }

  private accept(client: net.Socket): void {
    const upstream = net.connect(this.opts.target);
    const pair = { client, upstream };
    this.pairs.add(pair);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    if (!this.stalled) FaultProxy.join(pair);
  }

  private static join({ client, upstream }: { client: net.Socket; upstream: net.Socket }): void {
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Resets every open connection (a server restart or failover, as the clients see it). */
  cut(): void {
    for (const { client, upstream } of this.pairs) {
      client.resetAndDestroy();
      upstream.destroy();
    }
    this.pairs.clear();
  }

  /** Cuts every connection and stops listening: new connections are refused until `restore()`. */
  async refuse(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.cut();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  /** Listens again on the same port and forwards again. */
  async restore(): Promise<void> {
    if (this.stalled) for (const pair of this.pairs) FaultProxy.join(pair);
    this.stalled = false;
    if (!this.server) await this.listen(this.port);
  }

  /** Open connections stay open but carry nothing, new ones too: a link that went down. */
  stall(): void {
    if (this.stalled) return;
    this.stalled = true;
    for (const { client, upstream } of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
    }
  }

  /** Refuses connections for `ms`, then forwards again; resolves once restored. */
  async outage(ms: number): Promise<void> {
    await this.refuse();
    await new Promise((r) => setTimeout(r, ms));
    await this.restore();
  }

  async close(): Promise<void> {
    await this.refuse();
  }
}

/** Starts a proxy to `target`. */
export function startFaultProxy(target: { host: string; port: number }, port = 0): Promise<FaultProxy> {
  return new FaultProxy({ target, port }).start();
}
