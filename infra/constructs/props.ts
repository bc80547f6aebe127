import { Token } from "aws-cdk-lib";

/** Thrown by a construct whose props conflict; lists every problem, not just the first. */
export class PropsError extends Error {
  constructor(
    readonly construct: string,
    readonly problems: readonly string[],
  ) {
    super(`${construct}: invalid props:\n  - ${problems.join("\n  - ")}`);
    this.name = "PropsError";
  }
}

/** Collects problems, then throws them all at once. */
export class Problems {
  private readonly found: string[] = [];

  constructor(private readonly construct: string) {}

  /** Records `problem` unless `ok`. */
  check(ok: boolean, problem: string): this {
    if (!ok) this.found.push(problem);
    return this;
  }

  /** Records problems found elsewhere (a child construct's own checks, run ahead of building it). */
  add(problems: readonly string[]): this {
    this.found.push(...problems);
    return this;
  }

  get list(): readonly string[] {
    return this.found;
  }

  throwIfAny(): void {
    if (this.found.length > 0) throw new PropsError(this.construct, this.found);
  }
}

/** Values only known at deploy time (tokens) cannot be checked at synth; they pass. */
export const known = (value: string | number): boolean => !Token.isUnresolved(value);

export const isIntegerIn = (value: number, min: number, max: number): boolean =>
  !known(value) || (Number.isInteger(value) && value >= min && value <= max);

/** A complete Secrets Manager secret ARN: the one `create-secret` prints, ending in `-` + 6 random characters. */
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+-[A-Za-z0-9]{6}$/;

export const isSecretArn = (value: unknown): value is string =>
  typeof value === "string" && (!known(value) || SECRET_ARN.test(value));

/** An error's message (what a thrown non-Error says, as text). */
export const asMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));
