// A static import (not createRequire) so esbuild bundles it; it is CommonJS, hence the default import.
import TLSSigAPIv2 from "tls-sig-api-v2";

const { Api } = TLSSigAPIv2;

/** Tencent asks for at least 24 h of validity; 48 h renewed at half-life keeps a full day of margin. */
export const USERSIG_TTL_SECONDS = 48 * 3600;

/**
 * The admin's UserSig, generated once and reused until half its life has passed. `invalidate()` forces a
 * new one (after 20002/70001/70003). The signature is a credential: it never reaches a log line.
 */
export class UserSigCache {
  private readonly api: InstanceType<typeof Api>;
  private current: { sig: string; renewAt: number } | undefined;

  constructor(
    sdkAppId: string,
    secretKey: string,
    private readonly identifier: string,
    private readonly now: () => number = Date.now,
    private readonly ttlSeconds = USERSIG_TTL_SECONDS,
  ) {
    this.api = new Api(Number(sdkAppId), secretKey);
  }

  get(): string {
    const now = this.now();
    if (!this.current || now >= this.current.renewAt) {
      this.current = {
        sig: this.api.genUserSig(this.identifier, this.ttlSeconds),
        renewAt: now + (this.ttlSeconds * 1000) / 2,
      };
    }
    return this.current.sig;
  }

  invalidate(): void {
    this.current = undefined;
  }
}
