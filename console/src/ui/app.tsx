/** @jsxImportSource preact */
import { useEffect, useState } from "preact/hooks";
import { Api, ApiError } from "../api.ts";
import { tokenFetcher } from "../auth/token.ts";
import { loadConfig } from "../config.ts";
import type { CognitoConfig, ConsoleConfig } from "../schemas.ts";
import { Alert, Status } from "./common.tsx";
import { EMPTY_FIND, FindPanel, type FindState, type Results } from "./find.tsx";
import { EMPTY_JOB, type JobForm, JobsPage } from "./jobs.tsx";
import { MessagePage } from "./message.tsx";
import { CognitoSignIn, TokenSignIn } from "./sign-in.tsx";

/** Where the page is: the hash (`#/messages/<id>`, `#/jobs/<id>`) so Back works; never a token in it. */
export type Route =
  | { readonly view: "messages"; readonly id?: string }
  | { readonly view: "jobs"; readonly id?: string };

export function routeOf(hash: string): Route {
  const [view, id] = hash.replace(/^#\/?/, "").split("/");
  const decoded = id ? decodeURIComponent(id) : undefined;
  if (view === "jobs") return decoded ? { view: "jobs", id: decoded } : { view: "jobs" };
  return decoded && view === "messages" ? { view: "messages", id: decoded } : { view: "messages" };
}

function useRoute(): Route {
  const [route, setRoute] = useState(() => routeOf(location.hash));
  useEffect(() => {
    const changed = () => setRoute(routeOf(location.hash));
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return route;
}

interface Session {
  readonly api: Api;
  readonly who: string;
  readonly signOut: () => void;
}

const cognito = () => import("../auth/cognito.ts");
const cognitoDeps = (fetcher: typeof fetch) => ({
  fetch: (url: string, init: RequestInit) => fetcher(url, init),
  storage: sessionStorage,
  randomBytes: (length: number) => crypto.getRandomValues(new Uint8Array(length)),
  now: () => Date.now(),
});

/** The way back from managed login: credentials for the API, and the code taken out of the address bar. */
async function cognitoSession(config: CognitoConfig & { apiUrl: string }): Promise<Session | undefined> {
  const { finishSignIn, redirectUriOf, signOutUrl } = await cognito();
  const redirectUri = redirectUriOf(location);
  const params = new URLSearchParams(location.search);
  if (!params.has("code") && !params.has("error")) return undefined;
  history.replaceState(null, "", `${location.pathname}${location.hash}`);
  const session = await finishSignIn(config, redirectUri, params, cognitoDeps(fetch));
  if (!session) return undefined;
  return {
    api: new Api(config.apiUrl, session.fetcher),
    who: session.who,
    signOut: () => location.assign(signOutUrl(config, redirectUri)),
  };
}

export function App() {
  const [config, setConfig] = useState<ConsoleConfig>();
  const [bootError, setBootError] = useState<unknown>();
  const [session, setSession] = useState<Session>();
  const [signInError, setSignInError] = useState<unknown>();
  const [find, setFind] = useState<FindState>(EMPTY_FIND);
  const [results, setResults] = useState<Results>();
  const [jobForm, setJobForm] = useState<JobForm>(EMPTY_JOB);
  const route = useRoute();

  useEffect(() => {
    loadConfig().then((loaded) => {
      setConfig(loaded);
      if (loaded.mode === "cognito") cognitoSession(loaded).then(setSession, setSignInError);
    }, setBootError);
  }, []);

  // Signing in or out replaces the page's form: the focus goes to the new page's heading, not to nowhere.
  useEffect(() => {
    if (config) document.querySelector<HTMLElement>("main h2")?.focus();
  }, [session]);

  useEffect(() => {
    const where = route.view === "jobs" ? "Bulk jobs" : route.id ? `Message ${route.id}` : "Find messages";
    document.title = `${where} · im-edit console`;
  }, [route]);

  const signInWithToken = async (token: string) => {
    if (!config) return;
    const api = new Api(config.apiUrl, tokenFetcher(token));
    setSignInError(undefined);
    try {
      await api.listJobs();
      setSession({ api, who: "API token", signOut: () => setSession(undefined) });
    } catch (error: unknown) {
      setSignInError(
        error instanceof ApiError && error.status === 401
          ? new Error("That API token was refused: check it and try again.")
          : error,
      );
    }
  };

  const signInWithCognito = async () => {
    if (config?.mode !== "cognito") return;
    try {
      const { signInUrl, redirectUriOf } = await cognito();
      location.assign(await signInUrl(config, redirectUriOf(location), cognitoDeps(fetch)));
    } catch (error: unknown) {
      setSignInError(error);
    }
  };

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <h1>im-edit operator console</h1>
        {session && (
          <nav aria-label="Sections">
            <ul>
              <li>
                <a href="#/messages" aria-current={route.view === "messages" ? "page" : undefined}>
                  Messages
                </a>
              </li>
              <li>
                <a href="#/jobs" aria-current={route.view === "jobs" ? "page" : undefined}>
                  Bulk jobs
                </a>
              </li>
            </ul>
            <p class="who">Signed in with {session.who}</p>
            <button type="button" onClick={session.signOut}>
              Sign out
            </button>
          </nav>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        {!config && !bootError && <Status text="Loading…" />}
        <Alert error={bootError} />
        {config && !session && config.mode === "token" && (
          <TokenSignIn onToken={signInWithToken} error={signInError} />
        )}
        {config && !session && config.mode === "cognito" && (
          <CognitoSignIn onSignIn={() => void signInWithCognito()} error={signInError} />
        )}
        {session && route.view === "messages" && (
          <>
            <FindPanel
              api={session.api}
              form={find}
              setForm={setFind}
              results={results}
              setResults={setResults}
              open={(id) => {
                location.hash = `#/messages/${encodeURIComponent(id)}`;
              }}
            />
            {route.id !== undefined && <MessagePage key={route.id} api={session.api} id={route.id} />}
          </>
        )}
        {session && route.view === "jobs" && (
          <JobsPage
            api={session.api}
            jobId={route.id}
            form={jobForm}
            setForm={setJobForm}
            openJob={(id) => {
              location.hash = `#/jobs/${encodeURIComponent(id)}`;
            }}
          />
        )}
      </main>
    </>
  );
}
