// A TCP proxy in front of a test's Postgres: it can cut or refuse a client, and it sees what each
// client sends, chunk by chunk.
import net from 'node:net';

/**
 * A TCP proxy in front of the test's Postgres, as a database proxy stands in front of a server.
 * `intercept` sees each chunk a client sends, and returns true when it has dealt with the client
 * itself (reset it, closed it) instead of passing the chunk on. A promise holds the chunk, and
 * what the client sends after it, until it settles: something else happens first.
 */
export async function postgresProxy(
  databaseUrl: string,
  intercept: (client: net.Socket, chunk: Buffer) => boolean | Promise<void>,
): Promise<{ url: string; connections(): number; close(): Promise<void> }> {
  const target = new URL(databaseUrl);
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const proxy = net.createServer((client) => {
    connections++;
    const server = net.connect(Number(target.port || 5432), target.hostname);
    sockets.add(client).add(server);
    client.on('error', () => {});
    server.on('error', () => {});
    client.on('data', (chunk) => {
      const dealt = intercept(client, chunk);
      if (dealt === true) server.destroy();
      else if (dealt === false) server.write(chunk);
      else {
        client.pause();
        // A hold that fails cuts the client, which fails what it was sending.
        dealt.then(
          () => {
            server.write(chunk);
            client.resume();
          },
          () => client.destroy(),
        );
      }
    });
    server.on('data', (chunk) => client.writable && client.write(chunk));
    client.on('close', () => server.destroy());
    server.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const url = new URL(databaseUrl);
  url.host = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
  return {
    url: url.toString(),
    connections: () => connections,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((r) => proxy.close(r));
    },
  };
}
