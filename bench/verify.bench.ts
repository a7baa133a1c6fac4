import { createHash, randomUUID } from 'node:crypto';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, jwtVerify, SignJWT } from 'jose';
import { digestOf } from '../src/common/crypto/digest';
import type { VerificationData } from '../src/evidence/types/verification-event';
import { type ClientPolicy, verifyRequestObject } from '../src/request-objects/verification/request-object-verifier';
import { loadAverage, round2 } from './support/machine';
import { describeSettings, logger, median, medianOfRoundRatios, readSettings, referenceFirst, table, verdict, writeResult } from './support/report';

/**
 * `npm run bench:verify`: request objects verified per second, per algorithm, through jartrail's verifier (every
 * rule: digest, header and algorithm policy, key selection, signature, claims, the AS's claim facts) against raw
 * `jose` jwtVerify of the same objects with the same imported key, measured in the same run, interleaved round by
 * round so that load from elsewhere on the machine hits both alike. Target: jartrail at least 80% of raw jose.
 *
 * Settings (environment):
 *   BENCH_VERIFY_OBJECTS   distinct request objects per algorithm (default 1000)
 *   BENCH_VERIFY_ROUNDS    rounds of raw and jartrail back to back, in alternating order, each over all objects
 *                          (default 9); the result is the median of the per-round ratios
 */

const log = logger('bench:verify');
const ALGS = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const;
const AS = 'https://as.example.com';
const CLIENT = 'bench-app';
const benchSettings = readSettings({ objects: ['BENCH_VERIFY_OBJECTS', 1000], rounds: ['BENCH_VERIFY_ROUNDS', 9] });
const settings = benchSettings.values;
const hash = (value: string) => createHash('sha256').update(value).digest('base64url');

interface Workload {
  readonly alg: (typeof ALGS)[number];
  readonly objects: readonly { compact: string; reported: VerificationData }[];
  readonly publicKey: CryptoKey;
  readonly client: ClientPolicy;
}

async function workloadFor(alg: (typeof ALGS)[number]): Promise<Workload> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { crv: alg === 'EdDSA' ? 'Ed25519' : undefined, extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: `bench-${alg}`, alg, use: 'sig' };
  const now = Math.floor(Date.now() / 1000);
  const objects = [];
  for (let index = 0; index < settings.objects; index++) {
    const claims = {
      iss: CLIENT,
      client_id: CLIENT,
      aud: AS,
      response_type: 'code',
      redirect_uri: 'https://agent.example.com/cb',
      scope: 'openid mail.send',
      state: `state-${index}`,
      nonce: `nonce-${index}`,
      jti: randomUUID(),
      iat: now,
      nbf: now,
      exp: now + 300,
    };
    const compact = await new SignJWT(claims).setProtectedHeader({ alg, kid: jwk.kid, typ: 'oauth-authz-req+jwt' }).sign(privateKey);
    const { client_id: _clientId, state, nonce, ...facts } = claims;
    const reported = {
      digest: digestOf(compact),
      verdict: 'accepted',
      client_id: CLIENT,
      issuer: AS,
      delivery: 'value',
      header: { alg, kid: jwk.kid, typ: 'oauth-authz-req+jwt' },
      claims: { ...facts, state_hash: hash(state), nonce_hash: hash(nonce) },
      request_object: compact,
    } as VerificationData;
    objects.push({ compact, reported });
  }
  const keySet = { keys: [jwk] };
  const client: ClientPolicy = {
    clientId: CLIENT,
    signingAlgs: [alg],
    requireSigned: false,
    encryptionAlgs: [],
    encryptionEncs: [],
    maxLifetimeSeconds: 3600,
    keys: () => Promise.resolve(keySet),
  };
  return { alg, objects, publicKey: publicKey as CryptoKey, client };
}

async function timed(run: () => Promise<void>, count: number): Promise<number> {
  const started = process.hrtime.bigint();
  await run();
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function rawRound(workload: Workload): Promise<number> {
  return timed(async () => {
    for (const { compact } of workload.objects) await jwtVerify(compact, workload.publicKey, { algorithms: [workload.alg], issuer: CLIENT, audience: AS });
  }, workload.objects.length);
}

async function jartrailRound(workload: Workload, reportedAt: Date): Promise<number> {
  return timed(async () => {
    for (const { compact, reported } of workload.objects) {
      const outcome = await verifyRequestObject({ requestObject: compact, reported, reportedAt, client: workload.client, decryptionKeys: [], clockSkewSeconds: 60 });
      if (outcome.verdict !== 'verified') throw new Error(`bench object not verified: ${JSON.stringify(outcome.reasons)}`);
    }
  }, workload.objects.length);
}

async function main(): Promise<void> {
  log(`${settings.objects} objects per algorithm, ${settings.rounds} alternating rounds; ${describeSettings(benchSettings)}; load ${loadAverage().join(' ')}`);
  const reportedAt = new Date();
  const results = [];
  for (const alg of ALGS) {
    const workload = await workloadFor(alg);
    // Warm-up: key import, JIT.
    await rawRound(workload);
    await jartrailRound(workload, reportedAt);
    const raw: number[] = [];
    const ours: number[] = [];
    for (let round = 0; round < settings.rounds; round++) {
      // Alternating order, so that neither side always runs first in a round.
      if (referenceFirst(round)) {
        raw.push(await rawRound(workload));
        ours.push(await jartrailRound(workload, reportedAt));
      } else {
        ours.push(await jartrailRound(workload, reportedAt));
        raw.push(await rawRound(workload));
      }
    }
    // The shared ratio method (report.ts): the median of the per-round ratios.
    const ratios = medianOfRoundRatios(ours, raw);
    const result = {
      alg,
      rawPerSecond: Math.round(median(raw)),
      jartrailPerSecond: Math.round(median(ours)),
      ratio: ratios.ratio,
      roundRatios: ratios.roundRatios,
      rawRounds: raw.map(Math.round),
      jartrailRounds: ours.map(Math.round),
    };
    log(`${alg}: raw ${result.rawPerSecond}/s, jartrail ${result.jartrailPerSecond}/s (${round2(result.ratio * 100)}%)`);
    results.push(result);
  }
  const pass = results.every((result) => result.ratio >= 0.8);
  const path = await writeResult('verify', benchSettings, { results, target: 'jartrail >= 80% of raw jose per algorithm', pass });
  process.stdout.write(
    `\n${table([
      ['alg', 'raw jose/s (median)', 'jartrail/s (median)', 'ratio (median of rounds)', 'target 0.8'],
      ...results.map((result) => [result.alg, result.rawPerSecond, result.jartrailPerSecond, result.ratio, verdict(result.ratio >= 0.8)]),
    ])}\n\n${describeSettings(benchSettings)}\nresult: ${path}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:verify failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
