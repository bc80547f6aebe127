/**
 * Public surface of the NetEase Yunxin (网易云信) IM REST simulator (the class lives in simulator.ts, the
 * REST handlers in messages.ts, the message copies in copies.ts).
 */
export { apiCheckSum } from "./auth.ts";
export { type CopyBody, copyCheckSum, md5Hex } from "./copies.ts";
export { Code as NeteaseErrorCode } from "./errors.ts";
export type { NeteaseFault, NeteaseFaultKind } from "./faults.ts";
export {
  type ConversationType,
  NeteaseSimulator,
  type NeteaseSimulatorOptions,
  type NeteaseSimulatorStats,
  type StoredMessage,
  type TeamKind,
} from "./simulator.ts";
