import { describe } from "vitest";
import { CONTRACT_TARGETS } from "../helpers/store-targets.ts";
import { storeContract } from "./store.contract.ts";

/** One store contract, every adapter: the embedded store, and the DynamoDB adapter on each emulator. */
describe.each(CONTRACT_TARGETS)("Store contract on $name", (target) => {
  storeContract(target);
});
