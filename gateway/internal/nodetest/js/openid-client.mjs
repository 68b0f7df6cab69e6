// An OpenID Connect relying party built on the unmodified openid-client
// (panva), in two phases around the member's sign-in, which the Go test
// drives:
//
//   node openid-client.mjs authorize
//     discovery from ISSUER, then prints {url, verifier, state, nonce}: the
//     authorization URL (code + PKCE S256, SMART's aud) and the checks the
//     callback needs.
//   node openid-client.mjs callback
//     discovery again, the code exchange at CALLBACK_URL with the checks
//     (state, PKCE verifier, nonce; the id_token's signature verified
//     against the gateway's JWKS, its issuer and audience checked), a FHIR
//     read, a refresh, and a read with the new token. Prints what it saw.
//
// Environment: ISSUER, CLIENT_ID, CLIENT_SECRET (client_secret_basic),
// REDIRECT_URI, SCOPE, FHIR_BASE; for callback also CALLBACK_URL, VERIFIER,
// STATE, NONCE. The gateway runs on loopback http in tests, which
// openid-client refuses unless told (allowInsecureRequests).
import * as client from "openid-client";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

async function configuration() {
  return client.discovery(
    new URL(env("ISSUER")),
    env("CLIENT_ID"),
    undefined,
    client.ClientSecretBasic(env("CLIENT_SECRET")),
    { execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks] },
  );
}

async function authorize() {
  const config = await configuration();
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: env("REDIRECT_URI"),
    scope: env("SCOPE"),
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
    aud: env("FHIR_BASE"),
  });
  return { url: url.href, verifier, state, nonce };
}

async function readPatient(config, accessToken, id) {
  const res = await client.fetchProtectedResource(config, accessToken, new URL(`${env("FHIR_BASE")}/Patient/${id}`), "GET");
  const body = await res.json();
  return { status: res.status, resourceType: body.resourceType, id: body.id };
}

async function callback() {
  const config = await configuration();
  const tokens = await client.authorizationCodeGrant(config, new URL(env("CALLBACK_URL")), {
    pkceCodeVerifier: env("VERIFIER"),
    expectedState: env("STATE"),
    expectedNonce: env("NONCE"),
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  const jwks = client.getJwksCache(config)?.jwks?.keys ?? [];
  const out = {
    sub: claims.sub,
    iss: claims.iss,
    aud: claims.aud,
    nonce: claims.nonce,
    fhirUser: claims.fhirUser,
    jwksKids: jwks.map((k) => k.kid),
    scope: tokens.scope,
    patient: tokens.patient,
  };
  out.read = await readPatient(config, tokens.access_token, tokens.patient);
  const fresh = await client.refreshTokenGrant(config, tokens.refresh_token);
  out.refreshed = fresh.access_token !== tokens.access_token && fresh.refresh_token !== tokens.refresh_token;
  out.refreshedSub = fresh.claims()?.sub;
  out.readAfterRefresh = await readPatient(config, fresh.access_token, tokens.patient);
  return out;
}

const phases = { authorize, callback };
const phase = phases[process.argv[2]];
if (!phase) {
  process.stderr.write("usage: node openid-client.mjs authorize|callback\n");
  process.exit(2);
}
process.stdout.write(JSON.stringify(await phase()) + "\n");
