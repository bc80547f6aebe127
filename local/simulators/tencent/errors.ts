/**
 * The Tencent REST error codes the simulator answers with (shared/reference/tencent-chat-notes.md §4.4
 * and the per-API pages). Codes marked "synthetic" are plausible picks where Tencent documents the
 * failure but not its code.
 */
export const Code = {
  // public (60000-79999)
  urlParse: 60002,
  jsonParse: 60003,
  appIdInvalid: 60006,
  rateLimited: 60007,
  badResource: 60009,
  needsAdmin: 60010,
  appIdMissing: 60012,
  urlParam: 60025,
  userSigExpired: 70001,
  userSigIllegal: 70003,
  userSigMismatch: 70009,
  userSigIdentifier: 70013,
  userSigAppId: 70014,
  internal: 70500,
  // message APIs
  invalidRequest: 20001,
  messageNotFound: 20022,
  messageRecalled: 20023,
  json: 90001,
  msgBodyFormat: 90002,
  toAccount: 90003,
  msgRandom: 90005,
  msgBodyNotArray: 90007,
  fromAccount: 90008,
  msgFormat: 90010,
  msgKey: 90054,
  tooLarge: 93000,
  // group APIs
  groupParam: 10004,
  groupNoPermission: 10007,
  groupNotFound: 10010,
  groupIdInvalid: 10015,
  groupIdUsed: 10021,
  // group_msg_recall per-item RetCode: 10030 is the documented sample's "not recalled" code; 10031 for
  // "already recalled" is synthetic (the meaning of each RetCode is not in the retrieved pages).
  recallNotFound: 10030,
  recallAlreadyRecalled: 10031,
} as const;

/** A refusal: answered as HTTP 200 `{ActionStatus: "FAIL", ErrorCode, ErrorInfo}`, nothing applied. */
export class TencentError extends Error {
  readonly code: number;
  readonly info: string;

  constructor(code: number, info: string) {
    super(`${code} ${info}`);
    this.name = "TencentError";
    this.code = code;
    this.info = info;
  }
}
