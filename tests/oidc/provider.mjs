// A real OpenID provider for the integration tests: the npm package oidc-provider, with one
// fixed client ("reelvault"), accounts the test registers, an interaction that signs in the
// account registered last (no forms to fill), and test endpoints under /test/:
//   POST /test/configure {redirect_uri, post_logout_redirect_uri}  registers the client's URIs
//   POST /test/account {sub, email, email_verified, name, groups}  the next account to sign in
//   POST /test/rotate                                              signs with a new key from now on
//   POST /test/tamper {mode: "aud" | "exp" | "sig"}                spoils the next ID token
//   GET  /test/stats                                               how often end-session was reached
// Usage: node provider.mjs <node_modules dir>; prints "listening <port>" once on 127.0.0.1.
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const modules = path.resolve(process.argv[2] ?? 'node_modules');
const load = (file) => import(pathToFileURL(path.join(modules, file)).href);
const { default: Provider } = await load('oidc-provider/lib/index.js');
const jose = await load('jose/dist/webapi/index.js');

async function signingKey(kid) {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  return { ...(await jose.exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
}

const firstKey = await signingKey('key-a');
const nextKey = await signingKey('key-b');
// the same key id as the first key, another key: its signatures must not verify
const outsider = await signingKey('key-a');

let keys = [firstKey];
let client = { redirect_uris: ['http://127.0.0.1/unset'], post_logout_redirect_uris: [] };
const accounts = new Map();
let nextAccount = null;
let tamper = null;
let endSessionHits = 0;
let issuer = '';
let provider = null;

async function spoiled(idToken, mode) {
  const payload = jose.decodeJwt(idToken);
  const header = jose.decodeProtectedHeader(idToken);
  const now = Math.floor(Date.now() / 1000);
  let key = keys[0];
  if (mode === 'aud') payload.aud = 'someone-else';
  if (mode === 'exp') {
    payload.iat = now - 7200;
    payload.exp = now - 3600;
  }
  if (mode === 'sig') key = outsider;
  const privateKey = await jose.importJWK(key, 'RS256');
  return new jose.SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: header.kid, typ: header.typ }).sign(privateKey);
}

function build() {
  const built = new Provider(issuer, {
    clients: [
      {
        client_id: 'reelvault',
        client_secret: 'test-secret',
        redirect_uris: client.redirect_uris,
        post_logout_redirect_uris: client.post_logout_redirect_uris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'groups'] },
    findAccount: async (_ctx, id) => {
      const claims = accounts.get(id);
      return claims && { accountId: id, claims: async () => ({ sub: id, ...claims }) };
    },
    features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: { keys: ['reelvault-tests'] },
  });
  built.use(async (ctx, next) => {
    if (ctx.path === '/session/end') endSessionHits += 1;
    await next();
    if (ctx.path === '/token' && tamper && ctx.body && ctx.body.id_token) {
      ctx.body = { ...ctx.body, id_token: await spoiled(ctx.body.id_token, tamper) };
      tamper = null;
    }
  });
  return built;
}

async function body(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text ? JSON.parse(text) : {};
}

function answer(res, status, value) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}

async function finishInteraction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const accountId = nextAccount;
  const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { login: { accountId }, consent: { grantId } }, { mergeWithLastSubmission: false });
}

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, issuer);
    if (req.method === 'POST' && url.pathname === '/test/configure') {
      const wanted = await body(req);
      client = { redirect_uris: [wanted.redirect_uri], post_logout_redirect_uris: [wanted.post_logout_redirect_uri] };
      provider = build();
      return answer(res, 200, { ok: true });
    }
    if (req.method === 'POST' && url.pathname === '/test/account') {
      const { sub, ...claims } = await body(req);
      accounts.set(sub, claims);
      nextAccount = sub;
      return answer(res, 200, { ok: true });
    }
    if (req.method === 'POST' && url.pathname === '/test/rotate') {
      keys = [nextKey];
      provider = build();
      return answer(res, 200, { kid: nextKey.kid });
    }
    if (req.method === 'POST' && url.pathname === '/test/tamper') {
      tamper = (await body(req)).mode;
      return answer(res, 200, { ok: true });
    }
    if (req.method === 'GET' && url.pathname === '/test/stats') {
      return answer(res, 200, { end_session: endSessionHits });
    }
    if (req.method === 'GET' && url.pathname.startsWith('/interaction/')) {
      return await finishInteraction(req, res);
    }
    return provider.callback()(req, res);
  } catch (error) {
    answer(res, 500, { error: String(error) });
  }
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  issuer = `http://127.0.0.1:${port}`;
  provider = build();
  process.stdout.write(`listening ${port}\n`);
});
