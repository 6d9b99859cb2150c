import { connect, createServer, type Server, type Socket } from 'node:net';
import { freePort } from './net';

export interface TcpProxy {
  port: number;
  /** `target`'s URL with this proxy's address instead. */
  url(target: string): string;
  /** Cuts every open connection, as a network failure would. */
  drop(): void;
  /** Stops listening: new connections are refused until `accept()`. */
  refuse(): Promise<void>;
  /** Listens again on the same port. */
  accept(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A TCP proxy on a free loopback port to `targetHost:targetPort`, so a test
 * can take a broker away from one process without touching the machine's
 * shared broker.
 */
export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const port = await freePort();
  const open = new Set<Socket>();
  let server: Server | null = null;

  const track = (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  };

  const accept = () =>
    new Promise<void>((resolve, reject) => {
      const listening = createServer((client) => {
        const upstream = connect(targetPort, targetHost);
        track(client);
        track(upstream);
        client.pipe(upstream).pipe(client);
        // Either side failing ends the pair, like a broken link.
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      listening.once('error', reject);
      listening.listen(port, '127.0.0.1', () => {
        server = listening;
        resolve();
      });
    });

  const refuse = async () => {
    const listening = server;
    server = null;
    // close() stops accepting at once; its callback waits for open connections, which we do not.
    listening?.close();
  };

  const drop = () => {
    for (const socket of open) socket.destroy();
  };

  await accept();
  return {
    port,
    url(target) {
      const parsed = new URL(target);
      parsed.hostname = '127.0.0.1';
      parsed.port = String(port);
      return parsed.toString().replace(/\/$/, '');
    },
    drop,
    refuse,
    accept,
    async close() {
      await refuse();
      drop();
    },
  };
}
