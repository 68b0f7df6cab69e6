// An OAuth 2.0 authorization server for the gateway's upstream tests:
// panva's oidc-provider, issuing JWT access tokens with the client
// credentials grant to one client that authenticates with private_key_jwt
// (SMART Backend Services). The Medplum adapter checks those tokens
// against this server's JWKS.
//
// Environment:
//   CLIENT_ID     the gateway's client id
//   CLIENT_JWKS   the client's public JWK Set (JSON)
//   CLIENT_ALG    RS384 or ES384
//   AUDIENCE      the "aud" of the access tokens (the FHIR server's)
// It prints "listening <issuer>"; the token endpoint is <issuer>/token and
// the JWKS <issuer>/jwks.
import http from 'node:http';
import Provider from 'oidc-provider';
import { exportJWK, generateKeyPair } from 'jose';

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = 'http://127.0.0.1:' + server.address().port;

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const signing = { ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: 'as-1' };
const scope = 'system/*.rs';

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: process.env.CLIENT_ALG,
    jwks: JSON.parse(process.env.CLIENT_JWKS),
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    scope,
  }],
  scopes: [scope],
  jwks: { keys: [signing] },
  enabledJWA: { clientAuthSigningAlgValues: ['RS384', 'ES384'] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => process.env.AUDIENCE,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({ scope, audience: process.env.AUDIENCE, accessTokenFormat: 'jwt', accessTokenTTL: 300 }),
    },
  },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));
provider.on('grant.error', (ctx, err) => console.error('grant.error', err.message, err.error_description));
server.on('request', provider.callback());
console.log('listening ' + issuer);
