// A health plan's OpenID provider for the gateway's sign-in tests: panva's
// oidc-provider (the OpenID-certified Node implementation), unmodified, with
// one confidential client and member accounts from the environment, and
// minimal login and consent pages of our own (plain HTML forms, no script)
// that a Go test drives over HTTP with a cookie jar.
//
// Environment:
//   PORT                  port to listen on (default 0: any free port)
//   OIDC_CLIENT_ID        the relying party's client id (required)
//   OIDC_CLIENT_SECRET    its secret (client_secret_basic or _post; required)
//   OIDC_REDIRECT_URIS    space-separated redirect URIs (required)
//   OIDC_ACCOUNTS         JSON array of {"sub", "password", "claims": {...}};
//                         every claim an account has is released with the
//                         openid scope and put in the id_token, as plans
//                         configure their providers for a relying party
//
// Test knob: POST /_test/tamper?mode=signature makes the next token response
// carry an id_token whose signature no longer matches (one byte flipped);
// mode=off clears it. GET /_test/tamper reports the mode.
//
// It prints "listening http://127.0.0.1:PORT" (the issuer) once ready.
import crypto from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

const need = (name) => {
  const v = process.env[name];
  if (!v) {
    console.error(`oidc-provider.mjs: ${name} is required`);
    process.exit(2);
  }
  return v;
};

const accounts = new Map();
for (const a of JSON.parse(process.env.OIDC_ACCOUNTS ?? '[]')) {
  accounts.set(a.sub, { password: a.password ?? '', claims: a.claims ?? {} });
}
const claimNames = new Set(['sub']);
for (const a of accounts.values()) {
  Object.keys(a.claims).forEach((k) => claimNames.add(k));
}

const server = http.createServer();
await new Promise((resolve) => server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-1', alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: need('OIDC_CLIENT_ID'),
    client_secret: need('OIDC_CLIENT_SECRET'),
    redirect_uris: need('OIDC_REDIRECT_URIS').split(' '),
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  claims: { openid: [...claimNames] },
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    const a = accounts.get(sub);
    if (!a) {
      return undefined;
    }
    return { accountId: sub, claims: () => ({ sub, ...a.claims }) };
  },
});

let tamper = 'off';

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res, status, title, body) {
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title></head>`
    + `<body><h1>${esc(title)}</h1>${body}</body></html>`;
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

function loginForm(res, uid, error) {
  page(res, error ? 401 : 200, 'Sign in to the health plan',
    (error ? `<p class="error">${esc(error)}</p>` : '')
    + `<form method="post" action="/interaction/${esc(uid)}/login">`
    + '<input name="login" autocomplete="username"><input name="password" type="password">'
    + '<button type="submit">Sign in</button></form>'
    + `<a href="/interaction/${esc(uid)}/abort">Cancel</a>`);
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 64 << 10) {
      throw new Error('form too large');
    }
  }
  return new URLSearchParams(body);
}

// interaction handles the login and consent prompts with plain forms.
async function interaction(req, res, url) {
  const [, , uid, action] = url.pathname.split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) {
    page(res, 400, 'Wrong interaction', '');
    return;
  }
  const { prompt, params, session, grantId } = details;
  if (req.method === 'GET' && action === 'abort') {
    await provider.interactionFinished(req, res,
      { error: 'access_denied', error_description: 'The member cancelled' }, { mergeWithLastSubmission: false });
    return;
  }
  if (req.method === 'GET' && action === undefined) {
    if (prompt.name === 'login') {
      loginForm(res, uid);
    } else {
      page(res, 200, 'Let the gateway know who you are',
        `<p>${esc(params.client_id)} asks for: ${esc(params.scope)}</p>`
        + `<form method="post" action="/interaction/${esc(uid)}/confirm"><button type="submit">Continue</button></form>`);
    }
    return;
  }
  if (req.method === 'POST' && action === 'login' && prompt.name === 'login') {
    const form = await readForm(req);
    const a = accounts.get(form.get('login') ?? '');
    const given = Buffer.from(form.get('password') ?? '');
    if (!a || given.length !== Buffer.byteLength(a.password)
        || !crypto.timingSafeEqual(given, Buffer.from(a.password))) {
      loginForm(res, uid, 'Wrong username or password.');
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: form.get('login') } },
      { mergeWithLastSubmission: false });
    return;
  }
  if (req.method === 'POST' && action === 'confirm' && prompt.name === 'consent') {
    const grant = grantId ? await provider.Grant.find(grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) {
      grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    }
    if (prompt.details.missingOIDCClaims) {
      grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    }
    await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } },
      { mergeWithLastSubmission: true });
    return;
  }
  page(res, 400, 'Unexpected step', `<p>${esc(req.method)} ${esc(action ?? '')} during ${esc(prompt.name)}</p>`);
}

// tamperTokenResponse flips one byte of the id_token's signature in the
// token endpoint's answer, once.
function tamperTokenResponse(res) {
  const end = res.end.bind(res);
  res.end = (chunk, ...rest) => {
    try {
      const body = JSON.parse(chunk.toString());
      if (body.id_token) {
        const [h, p, s] = body.id_token.split('.');
        const sig = Buffer.from(s, 'base64url');
        sig[0] ^= 0x01;
        body.id_token = [h, p, sig.toString('base64url')].join('.');
        tamper = 'off';
        chunk = JSON.stringify(body);
        res.setHeader('content-length', Buffer.byteLength(chunk));
      }
    } catch { /* not JSON: leave it */ }
    return end(chunk, ...rest);
  };
}

const callback = provider.callback();
server.on('request', async (req, res) => {
  const url = new URL(req.url, issuer);
  try {
    if (url.pathname === '/_test/tamper') {
      if (req.method === 'POST') {
        tamper = url.searchParams.get('mode') ?? 'off';
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(tamper);
      return;
    }
    if (url.pathname.startsWith('/interaction/')) {
      await interaction(req, res, url);
      return;
    }
    if (url.pathname === '/token' && tamper === 'signature') {
      tamperTokenResponse(res);
    }
    callback(req, res);
  } catch (err) {
    console.error(err);
    if (!res.headersSent) {
      page(res, 500, 'Provider error', `<p>${esc(err.message)}</p>`);
    }
  }
});

console.log(`listening ${issuer}`);
