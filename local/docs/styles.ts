/** The page's only style: its own file (the CSP has no 'unsafe-inline'). Contrast AA, one column when narrow. */
export const DOCS_CSS = `:root {
  color-scheme: light;
  --text: #1a1d21;
  --muted: #4a5360;
  --line: #d5dae1;
  --panel: #f5f7fa;
  --link: #0b57d0;
  --focus: #b45309;
}
* { box-sizing: border-box; }
body {
  margin: 0;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--text);
  background: #fff;
}
a { color: var(--link); }
a:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
code { font: 0.9em/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
.skip { position: absolute; left: -999px; top: 0; background: #fff; padding: 0.5rem 1rem; }
.skip:focus { left: 0.5rem; z-index: 1; }
header { padding: 1.5rem 2rem; border-bottom: 1px solid var(--line); background: var(--panel); }
header h1 { margin: 0 0 0.5rem; font-size: 1.75rem; }
.version { font-size: 0.9rem; color: var(--muted); font-weight: normal; }
.layout { display: grid; grid-template-columns: minmax(14rem, 20rem) minmax(0, 1fr); }
.toc { padding: 1rem 1.5rem; border-right: 1px solid var(--line); font-size: 0.95rem; }
.toc h2 { font-size: 1.1rem; }
.toc h3 { font-size: 1rem; margin: 1.25rem 0 0.25rem; }
.toc ul { list-style: none; margin: 0; padding: 0; }
.toc li { margin: 0.25rem 0; }
.toc a { text-decoration: none; }
.toc a:hover code, .toc a:focus code { text-decoration: underline; }
main { padding: 1rem 2rem 4rem; min-width: 0; }
main > section { margin-bottom: 2.5rem; }
main h2 { font-size: 1.5rem; border-bottom: 2px solid var(--line); padding-bottom: 0.25rem; }
.operation, .schema { border: 1px solid var(--line); border-radius: 6px; padding: 0.5rem 1.25rem 1rem; margin: 1.25rem 0; }
.operation h3, .schema h3 { font-size: 1.15rem; margin: 0.75rem 0 0.25rem; overflow-wrap: anywhere; }
.operation h4 { font-size: 1rem; margin: 1.25rem 0 0.5rem; }
.summary { font-weight: 600; margin-top: 0; }
.auth { color: var(--muted); }
.method {
  display: inline-block;
  min-width: 4.2em;
  padding: 0.05em 0.4em;
  border-radius: 4px;
  color: #fff;
  font: 700 0.8rem/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  text-align: center;
}
.method-get { background: #05603a; }
.method-post { background: #1e40af; }
.method-patch { background: #9a3412; }
.method-delete { background: #9f1239; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 0.4rem 0.6rem; border-top: 1px solid var(--line); }
thead th { background: var(--panel); border-top: none; }
table.fields { margin-top: 0.35rem; font-size: 0.95em; }
table.fields th { font-weight: normal; white-space: nowrap; }
.req { color: #9f1239; font-size: 0.8em; font-weight: 600; }
.type { font-weight: 600; }
.constraints, .note { color: var(--muted); font-size: 0.9em; }
.desc { margin: 0.2rem 0 0; color: var(--muted); }
.choice ul { margin: 0.25rem 0; padding-left: 1.25rem; }
.choice .label { color: var(--muted); font-size: 0.9em; }
.tuple { margin: 0.25rem 0; padding-left: 1.5rem; }
.headers { margin: 0.25rem 0 0; padding-left: 1.25rem; }
.status { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.status-2xx { color: #05603a; }
.status-4xx { color: #9a3412; }
.status-5xx { color: #9f1239; }
@media (max-width: 60rem) {
  .layout { grid-template-columns: minmax(0, 1fr); }
  .toc { border-right: none; border-bottom: 1px solid var(--line); }
  header, main { padding-left: 1rem; padding-right: 1rem; }
  .operation, .schema { padding: 0.5rem 0.75rem 0.75rem; }
  table.fields th { white-space: normal; }
  th, td { padding: 0.35rem 0.4rem; overflow-wrap: anywhere; }
}
`;
