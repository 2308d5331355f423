// A real OpenID Connect provider for integration tests (oidc-provider, client credentials).
//
// Usage: node server.mjs [--port N] [--issuer URL] [--client-id ID] [--client-secret S] [--ttl SECONDS]
// Each option may also come from the environment: OIDC_PORT, OIDC_ISSUER, OIDC_CLIENT_ID,
// OIDC_CLIENT_SECRET, OIDC_TTL. Port 0 picks a free port. Prints `READY <issuer>` on stdout
// once listening, and one line per token request outcome, so tests can wait on events
// instead of sleeping:
//   EVENT grant.success <client_id>
//   EVENT grant.error <error code>
// Stops on SIGTERM/SIGINT or when stdin closes (the test process went away).

import Provider from 'oidc-provider';

function option(name, env, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i !== -1 && i + 1 < process.argv.length) return process.argv[i + 1];
  if (process.env[env] !== undefined && process.env[env] !== '') return process.env[env];
  return fallback;
}

const port = Number(option('port', 'OIDC_PORT', '0'));
const clientId = option('client-id', 'OIDC_CLIENT_ID', 'lane-agent');
const clientSecret = option('client-secret', 'OIDC_CLIENT_SECRET', 'lane-agent-test-secret');
const ttl = Number(option('ttl', 'OIDC_TTL', '300'));
let issuer = option('issuer', 'OIDC_ISSUER', '');

function say(line) {
  process.stdout.write(`${line}\n`);
}

function build(issuerUrl) {
  const provider = new Provider(issuerUrl, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'urn:lane-agent:pos',
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: '',
          audience: 'urn:lane-agent:pos',
          accessTokenFormat: 'jwt',
          accessTokenTTL: ttl,
        }),
      },
    },
    ttl: { ClientCredentials: ttl },
  });
  provider.on('grant.success', (ctx) => {
    const id = ctx.oidc && ctx.oidc.client ? ctx.oidc.client.clientId : '-';
    say(`EVENT grant.success ${id}`);
  });
  provider.on('grant.error', (_ctx, err) => say(`EVENT grant.error ${err.error || err.name}`));
  return provider;
}

// The issuer must contain the port; with port 0 we learn it only after binding, so bind a
// plain http server first and mount the provider's callback on it.
import http from 'node:http';

let handler = null;
const server = http.createServer((req, res) => handler(req, res));
server.listen(port, '127.0.0.1', () => {
  const actual = server.address().port;
  if (!issuer) issuer = `http://127.0.0.1:${actual}`;
  const provider = build(issuer);
  handler = provider.callback();
  say(`READY ${issuer}`);
});

function stop() {
  server.close();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
