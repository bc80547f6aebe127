/** What `run` throws, or undefined when it returns: for asserting on a refusal's type and fields. */
export function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error: unknown) {
    return error;
  }
  return undefined;
}
