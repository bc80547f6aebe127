/**
 * The Yunxin codes the simulator answers with (shared/reference/netease-yunxin-notes.md §1.4, §2.1).
 * Codes marked "synthetic" are picks where Yunxin documents the failure but not its code.
 */
export const Code = {
  ok: 200,
  /** Invalid operation or no permission (§1.4): modifyMsg by someone who is neither sender nor owner. */
  forbidden: 403,
  /** Object not found (§1.4): unknown message, unknown API path. */
  notFound: 404,
  /** Synthetic: a recalled message is treated as gone (Yunxin does not say what modifyMsg answers). */
  recalled: 404,
  /** Parameter error (§1.4), also every header / CheckSum failure (§1.1). */
  param: 414,
  /** Synthetic: modifyMsg on a message older than maxAgeMs (default 7 days, §2.1): a parameter error. */
  tooOld: 414,
  internal: 500,
  /** Team not found (§1.4); the simulator answers it for super teams too (synthetic). */
  teamNotFound: 803,
  /** Not a member of the team (§1.4): a team's history read as someone outside it. */
  notInTeam: 804,
  /** The same message updated more than once within 1 s (§1.4, §2.1). */
  tooFrequent: 107449,
} as const;

/** A refusal: answered as HTTP 200 `{"code": code, "msg": msg, "data": {}}`, nothing applied. */
export class YunxinError extends Error {
  readonly code: number;
  readonly msg: string;

  constructor(code: number, msg: string) {
    super(`${code} ${msg}`);
    this.name = "YunxinError";
    this.code = code;
    this.msg = msg;
  }
}
