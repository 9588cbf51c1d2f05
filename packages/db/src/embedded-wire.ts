import net from 'node:net';
import type { PGlite } from '@electric-sql/pglite';

const SSL_REQUEST = 80877103;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;
/** Sync and Query end a unit of work in the wire protocol; after them the session is between statements. */
const UNIT_END = new Set(['S', 'Q']);
const SYNC = new Uint8Array([0x53, 0, 0, 0, 4]);

export interface SerialWireServerOptions {
  db: PGlite;
  host: string;
  port: number;
  /** Connections accepted at once; more are refused. */
  maxConnections: number;
  /**
   * A connection that holds the database (mid-statement or inside a transaction) and sends
   * nothing for this long is cut and its work rolled back, so one stuck client cannot stop the
   * others. @defaultValue 30000
   */
  holdTimeoutMs?: number;
}

/** A FIFO lock: PGlite has one session, so one connection at a time may hold it. */
class Turn {
  private tail: Promise<void> = Promise.resolve();
  acquire(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => (release = r));
    const ready = this.tail.then(() => release);
    this.tail = this.tail.then(() => next);
    return ready;
  }
}

/**
 * Serves one PGlite over the Postgres wire protocol to many connections without mixing them.
 * PGlite is a single backend session: its unnamed prepared statement, portal, error state and
 * transaction are shared by whoever talks to it. A connection therefore holds the session from
 * its first message until the end of its unit of work (Sync or a simple Query) and, when that
 * leaves a transaction open, until the transaction ends; the others wait their turn. A
 * connection that goes away holding it has its work synced and rolled back first.
 */
export class SerialWireServer {
  private server?: net.Server;
  private readonly turn = new Turn();
  private readonly sockets = new Set<net.Socket>();
  private address?: net.AddressInfo;

  constructor(private readonly opts: SerialWireServerOptions) {}

  async start(): Promise<void> {
    const server = net.createServer((socket) => this.accept(socket));
    server.maxConnections = this.opts.maxConnections;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.address = server.address() as net.AddressInfo;
  }

  /** `host:port` the server listens on. */
  get conn(): string {
    return `${this.address!.address}:${this.address!.port}`;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    this.sockets.add(socket);
    const { db } = this.opts;
    const holdTimeoutMs = this.opts.holdTimeoutMs ?? 30_000;
    let buffer = Buffer.alloc(0);
    let started = false;
    let release: (() => void) | undefined;
    let chain: Promise<void> = Promise.resolve();
    let holdTimer: NodeJS.Timeout | undefined;
    let closed = false;

    const write = (data: Uint8Array) => {
      if (data.length && socket.writable) socket.write(data);
    };
    const letGo = async () => {
      if (holdTimer) clearTimeout(holdTimer);
      holdTimer = undefined;
      const r = release;
      release = undefined;
      r?.();
    };
    const exec = async (message: Uint8Array, unitEnds: boolean) => {
      if (closed) return;
      release ??= await this.turn.acquire();
      if (holdTimer) clearTimeout(holdTimer);
      try {
        await db.execProtocolRawStream(message, { onRawData: write });
      } catch (err) {
        socket.destroy(err as Error);
        return;
      }
      if (unitEnds && !db.isInTransaction()) await letGo();
      else holdTimer = setTimeout(() => socket.destroy(new Error('held the embedded database too long without a message')), holdTimeoutMs);
    };
    const abandon = async () => {
      if (closed) return;
      closed = true;
      this.sockets.delete(socket);
      await chain.catch(() => undefined);
      if (!release) return;
      // The connection left mid-unit or inside a transaction: end both for the next one.
      await db.execProtocolRaw(SYNC).catch(() => undefined);
      if (db.isInTransaction()) await db.exec('ROLLBACK').catch(() => undefined);
      await letGo();
    };

    const drain = () => {
      for (;;) {
        if (!started) {
          if (buffer.length < 8) return;
          const len = buffer.readInt32BE(0);
          const code = buffer.readInt32BE(4);
          if (code === SSL_REQUEST) {
            buffer = buffer.subarray(8);
            socket.write('N');
            continue;
          }
          if (code === CANCEL_REQUEST) {
            // Not supported by a single session: the query runs to its end.
            socket.end();
            return;
          }
          if (buffer.length < len) return;
          const msg = new Uint8Array(buffer.subarray(0, len));
          buffer = buffer.subarray(len);
          started = code === PROTOCOL_3 || started;
          chain = chain.then(() => exec(msg, true));
          continue;
        }
        if (buffer.length < 5) return;
        const type = String.fromCharCode(buffer[0]);
        const len = 1 + buffer.readInt32BE(1);
        if (buffer.length < len) return;
        const msg = new Uint8Array(buffer.subarray(0, len));
        buffer = buffer.subarray(len);
        if (type === 'X') {
          chain = chain.then(() => abandon()).then(() => void socket.end());
          return;
        }
        chain = chain.then(() => exec(msg, UNIT_END.has(type)));
      }
    };

    socket.on('data', (d) => {
      buffer = buffer.length ? Buffer.concat([buffer, d]) : d;
      drain();
    });
    socket.on('error', () => void abandon());
    socket.on('close', () => void abandon());
  }
}
