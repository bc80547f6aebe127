/**
 * Placeholders for condition and update expressions: every attribute name goes through `#name`
 * (DynamoDB reserves hundreds of words, `state` among them) and every value through `:vN`.
 */
export class Expression {
  private readonly names: Record<string, string> = {};
  private readonly values: Record<string, unknown> = {};
  private count = 0;

  /** `#a.#b` for the path a.b (attribute names here are identifiers). */
  path(...parts: string[]): string {
    return parts
      .map((part) => {
        const placeholder = `#${part}`;
        this.names[placeholder] = part;
        return placeholder;
      })
      .join(".");
  }

  value(value: unknown): string {
    const placeholder = `:v${this.count++}`;
    this.values[placeholder] = value;
    return placeholder;
  }

  /** The placeholders used, for the command's input. */
  attributes(): {
    ExpressionAttributeNames?: Record<string, string>;
    ExpressionAttributeValues?: Record<string, unknown>;
  } {
    return {
      ...(Object.keys(this.names).length > 0 ? { ExpressionAttributeNames: this.names } : {}),
      ...(Object.keys(this.values).length > 0 ? { ExpressionAttributeValues: this.values } : {}),
    };
  }
}
