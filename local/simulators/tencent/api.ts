/**
 * Public surface of the Tencent Cloud Chat REST simulator (the class lives in simulator.ts; the REST
 * handlers in c2c.ts and group.ts).
 */
export { callbackSign } from "./callbacks.ts";
export { Code as TencentErrorCode } from "./errors.ts";
export type { FaultKind, TencentFault } from "./faults.ts";
export {
  type EchoTiming,
  type GroupType,
  type StoredC2CMessage,
  type StoredGroupMessage,
  type StoredMessage,
  TencentSimulator,
  type TencentSimulatorOptions,
  type TencentSimulatorStats,
} from "./simulator.ts";
export { generateUserSig, verifyUserSig } from "./usersig.ts";
