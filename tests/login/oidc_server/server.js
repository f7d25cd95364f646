// A real OpenID Connect server for credproc's login tests: the npm package `oidc-provider`
// (OpenID-certified), configured the way a company identity provider is for a CLI:
//
//   * authorization code flow with PKCE required (S256 only), loopback redirects (RFC 8252: a
//     `native` client registered with http://127.0.0.1/callback accepts any port);
//   * the device authorization grant (RFC 8628), with a test-only `interval` and `slow_down`
//     enforcement (oidc-provider itself never sends either);
//   * refresh tokens for every client allowed the grant, rotated for public clients (reusing an
//     old one revokes the whole grant), and revocation (RFC 7009);
//   * the built-in development interactions (any login and password), which tests drive headlessly
//     with plain HTTP requests;
//   * one resource server (RFC 8707 resource indicator `urn:credproc:test-api`, scope `credproc`)
//     whose access tokens are RS256 JWTs, for `use: access_token`.
//
// Listens on 127.0.0.1 only. Settings come from the environment:
//   PORT                 port (default 0: a free one); the first stdout line is {"issuer": URL}
//   TOKEN_LOG            file that gets one JSON line per token-endpoint and revocation call
//                        {endpoint, grant_type, status, error} (tests count refreshes with it)
//   DEVICE_INTERVAL      `interval` added to device authorization responses (seconds, default 5)
//   DEVICE_MIN_INTERVAL  polls of one device code closer together than this get `slow_down`
//                        (seconds, default: DEVICE_INTERVAL)
//   ID_TOKEN_TTL         ID token lifetime in seconds (default 3600)
//   DEVICE_CODE_TTL      device code lifetime in seconds (default 600)
'use strict';

const fs = require('node:fs');
const http = require('node:http');
const querystring = require('node:querystring');

const PUBLIC_CLIENT = 'credproc-test';
const CONFIDENTIAL_CLIENT = 'credproc-confidential';
const CONFIDENTIAL_SECRET = 'credproc-test-secret-0123456789abcdef';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const TEST_API = 'urn:credproc:test-api';

const numberFromEnv = (name, fallback) => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};

const deviceInterval = numberFromEnv('DEVICE_INTERVAL', 5);
const deviceMinInterval = numberFromEnv('DEVICE_MIN_INTERVAL', deviceInterval);
const tokenLog = process.env.TOKEN_LOG;

function log(record) {
  if (tokenLog) fs.appendFileSync(tokenLog, `${JSON.stringify({ at: Date.now() / 1000, ...record })}\n`);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

// Polls per device code: when it was last polled. RFC 8628 §3.5: a client polling faster than the
// interval gets `slow_down` (and must add 5 seconds to its interval).
const lastPoll = new Map();

async function tokenEndpointTap(ctx, next) {
  const isToken = ctx.method === 'POST' && ctx.path === '/token';
  const isRevocation = ctx.method === 'POST' && ctx.path === '/token/revocation';
  if (!isToken && !isRevocation) {
    await next();
    if (ctx.method === 'POST' && ctx.path === '/device/auth' && ctx.status === 200 && ctx.body) {
      ctx.body = { ...ctx.body, interval: deviceInterval };
    }
    return;
  }
  // Read the form ourselves (oidc-provider then uses the pre-read body) to see the grant type.
  const raw = await readBody(ctx.req);
  ctx.req.body = raw;
  const params = querystring.parse(raw.toString());
  const record = { endpoint: isToken ? 'token' : 'revocation', grant_type: params.grant_type || null };
  if (isToken && params.grant_type === DEVICE_GRANT && params.device_code) {
    const now = Date.now() / 1000;
    const previous = lastPoll.get(params.device_code);
    lastPoll.set(params.device_code, now);
    if (previous !== undefined && now - previous < deviceMinInterval) {
      ctx.status = 400;
      ctx.body = { error: 'slow_down', error_description: 'polling too fast' };
      log({ ...record, status: 400, error: 'slow_down' });
      return;
    }
  }
  await next();
  const error = ctx.body && typeof ctx.body === 'object' ? ctx.body.error || null : null;
  log({ ...record, status: ctx.status, error });
}

async function main() {
  const { default: Provider, errors } = await import('oidc-provider');
  const server = http.createServer();
  await new Promise((resolve) => server.listen(Number(process.env.PORT || 0), '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${server.address().port}`;

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: PUBLIC_CLIENT,
        token_endpoint_auth_method: 'none',
        application_type: 'native',
        redirect_uris: ['http://127.0.0.1/callback'],
        grant_types: ['authorization_code', 'refresh_token', DEVICE_GRANT],
        response_types: ['code'],
      },
      {
        client_id: CONFIDENTIAL_CLIENT,
        client_secret: CONFIDENTIAL_SECRET,
        token_endpoint_auth_method: 'client_secret_basic',
        application_type: 'native',
        redirect_uris: ['http://127.0.0.1/callback'],
        grant_types: ['authorization_code', 'refresh_token', DEVICE_GRANT],
        response_types: ['code'],
      },
    ],
    pkce: { methods: ['S256'], required: () => true },
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (ctx, client, oneOf) => (oneOf ? oneOf[0] : undefined),
        useGrantedResource: async () => true,
        getResourceServerInfo: async (ctx, resource) => {
          if (resource !== TEST_API) throw new errors.InvalidTarget();
          return { scope: 'credproc', audience: TEST_API, accessTokenFormat: 'jwt', accessTokenTTL: 3600,
                   jwt: { sign: { alg: 'RS256' } } };
        },
      },
    },
    scopes: ['openid', 'offline_access', 'email'],
    // Refresh tokens for every client allowed the grant (by default only for `offline_access`,
    // which oidc-provider drops unless prompt=consent is sent).
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    ttl: {
      IdToken: numberFromEnv('ID_TOKEN_TTL', 3600),
      AccessToken: 3600,
      DeviceCode: numberFromEnv('DEVICE_CODE_TTL', 600),
      RefreshToken: 86400,
      Interaction: 600,
      Session: 3600,
      Grant: 86400,
    },
    cookies: { keys: ['credproc-test-cookie-key-not-secret'] },
    findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  });
  provider.use(tokenEndpointTap);
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer, client_id: PUBLIC_CLIENT, confidential_client_id: CONFIDENTIAL_CLIENT })}\n`);
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  process.stderr.write(`oidc test server failed: ${err && err.stack}\n`);
  process.exit(1);
});
