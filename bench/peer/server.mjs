// The peer Tessera is measured against: node-oidc-provider, configured for the
// same scenario (one confidential client with client_secret_basic, the
// client_credentials grant issuing ES256 JWT access tokens through a resource
// indicator, introspection on), one Node process per core with node:cluster.
//
// Environment (all set by bench/run.sh):
//   PEER_PORT           port on 127.0.0.1
//   PEER_CLIENT_ID      the client's id
//   PEER_CLIENT_SECRET  the client's secret
//   PEER_REDIRECT_URI   the redirect URI of the code-flow clients "bench-web"
//                       and "bench-refresh" (same secret), used by the code-flow
//                       and refresh scenarios
//   PEER_WORKERS        worker processes (default: one per core)
//
// The primary prints "peer ready pids=<primary>,<worker>,..." once every worker
// listens, so the bench script knows when to start and which PIDs to measure.

import cluster from 'node:cluster';
import crypto from 'node:crypto';
import os from 'node:os';
import process from 'node:process';

const port = Number(process.env.PEER_PORT ?? 3000);
const issuer = `http://127.0.0.1:${port}`;

// The resource (API) whose access tokens are ES256 JWTs, issued when the
// client names no resource, as Tessera does with its default audience.
const API = 'https://api.bench.test';
// oidc-provider refuses to introspect JWT access tokens (they are meant to be
// validated locally by the resource server), so introspection is measured on
// the opaque token of this second resource.
const OPAQUE_API = 'urn:bench:opaque';
// The same JWT access tokens signed with RS256, for the RS256 comparison row.
const RS256_API = 'https://api-rs256.bench.test';

if (cluster.isPrimary) {
  // Keys are made once here and handed to every worker, so that all workers
  // sign with the same kid and any worker's token verifies with the JWKS.
  const jwk = (keyPair, alg) => ({
    ...keyPair.privateKey.export({ format: 'jwk' }),
    kid: crypto.randomUUID(),
    alg,
    use: 'sig',
  });
  const keys = [
    jwk(crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }), 'ES256'),
    // RS256 is the default for ID tokens; the provider wants a key for it.
    jwk(crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }), 'RS256'),
  ];
  const cookieKey = crypto.randomBytes(32).toString('base64url');

  const count = Number(process.env.PEER_WORKERS ?? os.availableParallelism());
  const workers = [];
  const pendingWrites = new Map();
  let listening = 0;
  for (let i = 0; i < count; i += 1) {
    const worker = cluster.fork({
      PEER_KEYS: JSON.stringify(keys),
      PEER_COOKIE_KEY: cookieKey,
    });
    workers.push(worker);
    worker.on('listening', () => {
      listening += 1;
      if (listening === count) {
        const pids = [process.pid, ...workers.map((w) => w.process.pid)];
        console.log(`peer ready pids=${pids.join(',')} issuer=${issuer}`);
      }
    });
    // Relay every store write to the other workers and tell the writer once
    // all of them hold it (see ReplicatedAdapter).
    worker.on('message', (message) => {
      if (message.type === 'write') {
        const others = workers.filter((w) => w !== worker && w.isConnected());
        const key = `${worker.id}:${message.seq}`;
        if (others.length === 0) {
          worker.send({ type: 'ack', seq: message.seq });
          return;
        }
        pendingWrites.set(key, { origin: worker, seq: message.seq, remaining: others.length });
        for (const other of others) other.send({ type: 'apply', key, op: message.op });
      } else if (message.type === 'applied') {
        const write = pendingWrites.get(message.key);
        write.remaining -= 1;
        if (write.remaining === 0) {
          pendingWrites.delete(message.key);
          write.origin.send({ type: 'ack', seq: write.seq });
        }
      }
    });
  }
  // A worker that dies makes the run invalid: say so and stop.
  let shuttingDown = false;
  cluster.on('exit', (worker, code, signal) => {
    if (!shuttingDown) {
      console.error(`peer worker ${worker.process.pid} exited (${signal ?? code})`);
      process.exit(1);
    }
  });
  const stop = () => {
    shuttingDown = true;
    for (const worker of workers) worker.process.kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const { default: Provider } = await import('oidc-provider');

  // The default memory adapter lives in one process. Workers of a cluster would
  // not see each other's stored tokens (an opaque token or a code issued by one
  // worker would be unknown to the next), so each worker keeps a local map and
  // replicates its writes through the primary, synchronously: a write resolves
  // once every worker holds it, as a write to a shared store (Redis) would.
  // Reads stay local. JWT access tokens are never stored by oidc-provider, so
  // the client_credentials scenario sends nothing through here.
  const stores = new Map();
  const storeFor = (model) => {
    if (!stores.has(model)) stores.set(model, new Map());
    return stores.get(model);
  };
  const live = (entry) => entry && (entry.expiresAt === undefined || entry.expiresAt > Date.now());
  const apply = ({ op, model, id, payload, expiresIn, consumed }) => {
    const store = storeFor(model);
    if (op === 'upsert') {
      store.set(id, {
        payload,
        expiresAt: typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined,
      });
    } else if (op === 'destroy') {
      store.delete(id);
    } else if (op === 'consume') {
      const entry = store.get(id);
      if (entry) entry.payload.consumed = consumed;
    } else if (op === 'revokeByGrantId') {
      for (const [key, entry] of store) if (entry.payload.grantId === id) store.delete(key);
    }
  };
  // Drop expired entries now and then, as a store with TTLs would, so that
  // the codes of the code-flow runs do not pile up in memory.
  setInterval(() => {
    for (const store of stores.values()) {
      for (const [key, entry] of store) if (!live(entry)) store.delete(key);
    }
  }, 5000).unref();
  let writeSeq = 0;
  const waiting = new Map();
  process.on('message', (message) => {
    if (message.type === 'apply') {
      apply(message.op);
      process.send({ type: 'applied', key: message.key });
    } else if (message.type === 'ack') {
      waiting.get(message.seq)();
      waiting.delete(message.seq);
    }
  });
  const write = (op) => {
    apply(op);
    writeSeq += 1;
    const seq = writeSeq;
    return new Promise((resolve) => {
      waiting.set(seq, resolve);
      process.send({ type: 'write', seq, op });
    });
  };

  class ReplicatedAdapter {
    constructor(model) { this.model = model; }

    async upsert(id, payload, expiresIn) {
      await write({ op: 'upsert', model: this.model, id, payload, expiresIn });
    }

    async find(id) {
      const entry = storeFor(this.model).get(id);
      return live(entry) ? entry.payload : undefined;
    }

    async findByUid(uid) {
      for (const entry of storeFor(this.model).values()) {
        if (live(entry) && entry.payload.uid === uid) return entry.payload;
      }
      return undefined;
    }

    async findByUserCode(userCode) {
      for (const entry of storeFor(this.model).values()) {
        if (live(entry) && entry.payload.userCode === userCode) return entry.payload;
      }
      return undefined;
    }

    async consume(id) {
      await write({ op: 'consume', model: this.model, id, consumed: Math.floor(Date.now() / 1000) });
    }

    async destroy(id) {
      await write({ op: 'destroy', model: this.model, id });
    }

    async revokeByGrantId(grantId) {
      await Promise.all([...stores.keys()].map((model) => write({ op: 'revokeByGrantId', model, id: grantId })));
    }
  }

  const resourceServer = (identifier) => {
    if (identifier === API) {
      return {
        scope: 'contact.read',
        audience: API,
        accessTokenTTL: 3600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      };
    }
    if (identifier === RS256_API) {
      return {
        scope: 'contact.read',
        audience: RS256_API,
        accessTokenTTL: 3600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      };
    }
    if (identifier === OPAQUE_API) {
      return { scope: 'contact.read', audience: OPAQUE_API, accessTokenTTL: 3600, accessTokenFormat: 'opaque' };
    }
    return undefined;
  };

  const provider = new Provider(issuer, {
    adapter: ReplicatedAdapter,
    clients: [{
      client_id: process.env.PEER_CLIENT_ID,
      client_secret: process.env.PEER_CLIENT_SECRET,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'contact.read',
    }, {
      // The code-flow scenario's client, a confidential web application.
      client_id: 'bench-web',
      client_secret: process.env.PEER_CLIENT_SECRET,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [process.env.PEER_REDIRECT_URI],
      scope: 'contact.read',
    }, {
      // The refresh scenario's client: the code flow, plus refresh tokens.
      client_id: 'bench-refresh',
      client_secret: process.env.PEER_CLIENT_SECRET,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [process.env.PEER_REDIRECT_URI],
      scope: 'contact.read',
    }],
    // Tessera issues a refresh token to every client allowed the grant (no
    // `offline_access` needed outside OpenID requests) and rotates it on every
    // use; the peer does the same here, so both do the same work per refresh.
    // By default it would want `offline_access` with `prompt=consent`, and
    // rotate only public clients' tokens or tokens near their expiry.
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    scopes: ['openid', 'contact.read'],
    jwks: { keys: JSON.parse(process.env.PEER_KEYS) },
    cookies: { keys: [process.env.PEER_COOKIE_KEY] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // No resource named: the JWT resource, like Tessera's default audience.
        defaultResource: async (ctx, client, oneOf) => oneOf ?? API,
        getResourceServerInfo: async (ctx, identifier) => {
          const info = resourceServer(identifier);
          if (!info) throw new Provider.errors.InvalidTarget();
          return info;
        },
        useGrantedResource: async () => true,
      },
    },
    // The same paths as Tessera, so the same wrk scripts drive both.
    routes: { jwks: '/jwks.json', token: '/token', introspection: '/introspect' },
  });
  // The server runs on loopback with http; nothing here is behind a proxy.
  provider.proxy = false;

  // Login and consent are the host application's pages in oidc-provider. The
  // bench needs no page: its interaction route signs the bench user in and
  // grants the requested scope at once. The setup (bench/codeflow_setup.py)
  // goes through it once; afterwards the session and the grant are
  // remembered, so the measured loop never reaches it.
  provider.use(async (ctx, next) => {
    if (ctx.method !== 'GET' || !ctx.path.startsWith('/interaction/')) return next();
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const accountId = details.session?.accountId ?? 'bench-user';
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId, clientId: details.params.client_id });
    // Grant exactly what the consent prompt says is missing.
    const { missingOIDCScope, missingResourceScopes } = details.prompt.details;
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
    for (const [resource, scopes] of Object.entries(missingResourceScopes ?? {})) {
      grant.addResourceScope(resource, scopes.join(' '));
    }
    const result = { consent: { grantId: await grant.save() } };
    if (details.prompt.name === 'login') result.login = { accountId };
    await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
    return undefined;
  });

  provider.listen(port, '127.0.0.1');
}
