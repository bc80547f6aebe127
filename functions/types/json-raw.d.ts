/** Node 24 (V8) has JSON.rawJSON; TypeScript's lib does not declare it yet. */
interface JSON {
  rawJSON(text: string): unknown;
}
