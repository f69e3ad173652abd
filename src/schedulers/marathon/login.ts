// DC/OS service-account login: a token that refreshes itself. The gateway signs a short
// RS256 JWT {uid, exp} with the account's private key and trades it at
// /acs/api/v1/auth/login for an ACS token (sent as `Authorization: token=...`), logging in
// again before it expires and whenever Marathon answers 401.
import { createSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { DromedarError, describe } from '../../util/errors.js';

// DC/OS tokens live 5 days by default; a fresh one well before that.
const REFRESH_MS = 12 * 3600_000;

export class ServiceAccountLogin {
  private cached: { token: string; at: number } | null = null;
  private pending: Promise<string> | null = null;
  private readonly dispatcher: Agent;
  private readonly loginUrl: string;

  constructor(
    private readonly account: { uid: string; privateKeyFile: string; loginUrl?: string | undefined },
    marathonUrl: string,
    caFile?: string,
  ) {
    this.loginUrl = account.loginUrl ?? `${new URL(marathonUrl).origin}/acs/api/v1/auth/login`;
    this.dispatcher = new Agent(caFile ? { connect: { ca: readFileSync(caFile, 'utf8') } } : {});
  }

  invalidate(): void {
    this.cached = null;
  }

  async token(): Promise<string> {
    if (this.cached && Date.now() - this.cached.at < REFRESH_MS) return this.cached.token;
    this.pending ??= this.fetch().finally(() => (this.pending = null));
    return this.pending;
  }

  private async fetch(): Promise<string> {
    let key: string;
    try {
      key = readFileSync(this.account.privateKeyFile, 'utf8');
    } catch (err) {
      throw new DromedarError('invalid_config', `scheduler.marathon.serviceAccount.privateKeyFile: cannot read ${this.account.privateKeyFile}: ${describe(err)}`);
    }
    const jwt = signJwt({ uid: this.account.uid, exp: Math.floor(Date.now() / 1000) + 300 }, key);
    let status: number;
    let body: { token?: string; description?: string; title?: string };
    try {
      const res = await request(this.loginUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ uid: this.account.uid, token: jwt }),
        dispatcher: this.dispatcher,
        headersTimeout: 15_000,
        bodyTimeout: 15_000,
      });
      status = res.statusCode;
      body = (await res.body.json().catch(() => ({}))) as typeof body;
    } catch (err) {
      throw new DromedarError('marathon_unreachable', `cannot reach the DC/OS login at ${this.loginUrl}: ${describe(err)}`, 503);
    }
    if (status !== 200 || !body.token) {
      throw new DromedarError(
        'marathon_unauthorized',
        `DC/OS refused the login of service account ${this.account.uid} at ${this.loginUrl} (${status} ${body.description ?? body.title ?? ''}); check its uid and private key (scheduler.marathon.serviceAccount)`,
        502,
      );
    }
    this.cached = { token: body.token, at: Date.now() };
    return body.token;
  }
}

export function signJwt(claims: Record<string, unknown>, privateKeyPem: string): string {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(claims)}`;
  const signature = createSign('RSA-SHA256').update(unsigned).sign(privateKeyPem).toString('base64url');
  return `${unsigned}.${signature}`;
}
