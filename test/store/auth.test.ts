// Registry authentication: basic credentials, and the bearer flow (a 401
// challenge naming a token endpoint on the same host). A token endpoint on
// another host is refused.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { sha256 } from '../../src/store/local.js';
import { pullModule } from '../../src/store/oci.js';
import { parseOciReference } from '../../src/store/reference.js';

const module = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
const manifest = Buffer.from(JSON.stringify({
  schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.wasm.config.v0+json', digest: sha256(new Uint8Array(2)), size: 2 },
  layers: [{ mediaType: 'application/wasm', digest: sha256(module), size: module.length }],
}));
const basic = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;

describe('registry authentication', () => {
  let server: Server;
  let address = '';
  before(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const auth = req.headers.authorization ?? '';
      if (url.pathname === '/token') {
        if (auth !== basic) { res.statusCode = 401; res.end(); return; }
        assert.equal(url.searchParams.get('scope'), 'repository:bearer/app:pull');
        res.end(JSON.stringify({ token: 'T0KEN' }));
        return;
      }
      const [, , repo, , kind] = url.pathname.split('/');
      const authorized = repo === 'basic' ? auth === basic : repo === 'bearer' ? auth === 'Bearer T0KEN' : false;
      if (!authorized) {
        res.statusCode = 401;
        res.setHeader('www-authenticate', repo === 'basic' ? 'Basic realm="registry"'
          : repo === 'bearer' ? `Bearer realm="http://${address}/token",service="test",scope="repository:bearer/app:pull"`
          : 'Bearer realm="http://203.0.113.9/token",service="evil"');
        res.end();
        return;
      }
      res.end(kind === 'manifests' ? manifest : Buffer.from(module));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    address = `127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => new Promise((r) => server.close(r)));

  const credentials = { username: 'alice', password: 's3cret' };

  it('basic: refused without credentials, accepted with them', async () => {
    await assert.rejects(pullModule(parseOciReference(`${address}/basic/app:1`)), /requires authentication/);
    assert.deepEqual((await pullModule(parseOciReference(`${address}/basic/app:1`), { credentials })).module, module);
  });

  it('bearer: exchanges credentials for a token at the challenge\'s endpoint', async () => {
    assert.deepEqual((await pullModule(parseOciReference(`${address}/bearer/app:1`), { credentials })).module, module);
    await assert.rejects(pullModule(parseOciReference(`${address}/bearer/app:1`), { credentials: { username: 'alice', password: 'wrong' } }), /token endpoint answered 401/);
  });

  it('refuses a token endpoint on another host', async () => {
    await assert.rejects(pullModule(parseOciReference(`${address}/other/app:1`), { credentials }), /token endpoint on another host/);
  });
});
