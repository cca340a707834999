// The apig-gateway console: one ES module, no framework. Every value from the gateway is rendered
// with textContent / DOM nodes (never innerHTML). The admin token lives in this tab's
// sessionStorage only and goes out as `Authorization: Bearer` to the admin API. Debugging signs in
// the page with apig-wasm (the secret never leaves the page; only the signature does).
import { Signer, isApigError } from "./apig-wasm/web/index.js";

const TOKEN_KEY = "apig-console-token";
const $ = (id) => document.getElementById(id);
let config = null;
let apiUrl = null; // the API listener, for direct (CORS) calls
let lastCredentials = null; // the app created or reset last: its key and secret, for Debug

// ---- DOM helpers ------------------------------------------------------------------------------
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "text") node.textContent = value;
    else if (name === "onclick") node.addEventListener("click", value);
    else if (name === "className") node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child ?? "")));
  return node;
}

function notice(text, isError = false) {
  $("notice").textContent = text;
  $("notice").className = isError ? "error" : "";
}

function fillSelect(select, values) {
  const kept = select.value;
  select.replaceChildren(...values.map(([value, label]) => el("option", { value, text: label })));
  if (values.some(([value]) => value === kept)) select.value = kept;
}

// ---- the admin API ----------------------------------------------------------------------------
async function admin(method, path, body) {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) ?? ""}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
  let value = {};
  try {
    value = await response.json();
  } catch {
    // (not JSON)
  }
  if (response.status === 401) {
    signOut("The admin token was refused: sign in again.");
    throw new Error("unauthorised");
  }
  if (!response.ok) throw new Error(value.error ?? `${method} ${path}: HTTP ${response.status}`);
  return value;
}

// Runs an admin change, shows its outcome, reloads the view.
async function act(what, method, path, body) {
  try {
    const value = await admin(method, path, body);
    notice(`${what}: done`);
    await refresh();
    return value;
  } catch (error) {
    if (error.message !== "unauthorised") notice(`${what}: ${error.message}`, true);
    return undefined;
  }
}

const enc = encodeURIComponent;

// ---- sign in / out ----------------------------------------------------------------------------
function signOut(message = "") {
  sessionStorage.removeItem(TOKEN_KEY);
  config = null;
  // nothing of the session stays on the page: credentials, the secret shown once
  lastCredentials = null;
  $("secret-box").hidden = true;
  for (const id of ["secret-value", "secret-key", "debug-canonical", "debug-sts", "debug-body-out", "debug-headers-out"]) $(id).textContent = "";
  $("debug-secret").value = "";
  $("console").hidden = true;
  $("logout").hidden = true;
  $("login-section").hidden = false;
  $("login-error").textContent = message;
  $("token").value = "";
  $("token").focus();
}

async function signIn() {
  const response = await fetch("/v1/config", {
    headers: { Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) ?? ""}` },
    cache: "no-store",
  });
  if (!response.ok) {
    signOut(response.status === 401 ? "Wrong admin token." : `The admin API answered ${response.status}.`);
    return;
  }
  $("login-section").hidden = true;
  $("console").hidden = false;
  $("logout").hidden = false;
  $("login-error").textContent = "";
  try {
    apiUrl = (await admin("GET", "/v1/console/gateway")).api_url;
  } catch {
    apiUrl = null;
  }
  render(await response.json());
  if (!$("debug-host").value && apiUrl) $("debug-host").value = new URL(apiUrl).host;
  $("apis-title").focus();
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("token").value);
  $("token").value = "";
  await signIn();
});
$("logout").addEventListener("click", () => signOut());
$("refresh").addEventListener("click", () => refresh());

async function refresh() {
  try {
    render(await admin("GET", "/v1/config"));
  } catch (error) {
    if (error.message !== "unauthorised") notice(error.message, true);
  }
}

// ---- rendering --------------------------------------------------------------------------------
const allApis = () => (config?.groups ?? []).flatMap((g) => (g.apis ?? []).map((api) => ({ ...api, group: g })));
const publishedIn = (apiId) => (config.environments ?? []).filter((e) => (e.published ?? []).includes(apiId)).map((e) => e.name);

function render(value) {
  config = value;
  const apis = allApis();
  renderGroups();
  renderEnvironments();
  renderApps();
  renderPolicies();
  const options = apis.map((a) => [a.id, a.name && a.name !== a.id ? `${a.id} (${a.name})` : a.id]);
  for (const select of document.querySelectorAll("select.api-select")) fillSelect(select, options);
  fillSelect($("authorize-app"), (config.apps ?? []).map((a) => [a.id, a.id]));
  fillSelect($("bind-policy"), (config.policies ?? []).map((p) => [p.name, `${p.name} (${p.type})`]));
}

function renderGroups() {
  const blocks = (config.groups ?? []).map((group) => {
    const domains = [...(group.domains ?? [])];
    const rows = (group.apis ?? []).map((api) =>
      el(
        "tr",
        {},
        el("th", { scope: "row" }, el("span", { text: api.id }), api.name && api.name !== api.id ? el("div", { className: "hint", text: api.name }) : ""),
        el("td", { text: api.method }),
        el("td", {}, el("code", { text: api.path })),
        el("td", { text: api.auth }),
        el("td", {}, el("code", { text: api.backend?.url ?? "" })),
        el(
          "td",
          {},
          ...(api.policies ?? []).map((name) =>
            el("span", { className: "badge" }, name, " ",
              el("button", { type: "button", "aria-label": `Unbind policy ${name} from ${api.id}`, text: "×",
                onclick: () => act(`Unbind ${name} from ${api.id}`, "DELETE", `/v1/apis/${enc(api.id)}/policies/${enc(name)}`) })),
          ),
        ),
        el(
          "td",
          {},
          ...publishedIn(api.id).map((env) =>
            el("span", { className: "badge" }, env, " ",
              el("button", { type: "button", "aria-label": `Unpublish ${api.id} from ${env}`, text: "×",
                onclick: () => act(`Unpublish ${api.id} from ${env}`, "DELETE", `/v1/environments/${enc(env)}/apis/${enc(api.id)}`) })),
          ),
        ),
        el("td", {}, el("button", { type: "button", text: "Debug", "aria-label": `Debug ${api.id}`, onclick: () => debugApi(api.id) })),
      ),
    );
    const extra = [];
    if (group.debug_domain) extra.push(`debug domain ${group.debug_domain} (${group.debug_quota ?? 1000} calls a day)`);
    return el(
      "div",
      {},
      el("h3", { text: `Group ${group.id}${group.name ? ` — ${group.name}` : ""}` }),
      el("p", { className: "hint", text: `Domains: ${domains.length ? domains.join(", ") : "any host"}${extra.length ? `; ${extra.join("; ")}` : ""}` }),
      el(
        "table",
        {},
        el("caption", { text: `APIs of ${group.id}` }),
        el("thead", {}, el("tr", {}, ...["API", "Method", "Path", "Auth", "Backend", "Policies", "Published in", ""].map((h) => el("th", { scope: "col", text: h })))),
        el("tbody", {}, ...rows),
      ),
    );
  });
  $("groups").replaceChildren(...blocks);
}

function renderEnvironments() {
  $("environments").replaceChildren(
    ...(config.environments ?? []).map((env) =>
      el("li", {}, el("strong", { text: env.name }), ": ", (env.published ?? []).length ? env.published.join(", ") : "nothing published"),
    ),
  );
}

function renderApps() {
  const auths = config.authorizations ?? [];
  $("apps").replaceChildren(
    ...(config.apps ?? []).map((app) =>
      el(
        "tr",
        {},
        el("th", { scope: "row", text: app.name ? `${app.id} (${app.name})` : app.id }),
        el("td", {}, el("code", { text: app.key })),
        el(
          "td",
          {},
          ...auths
            .filter((a) => a.app === app.id)
            .map((a) => {
              const env = a.environment ?? "RELEASE";
              return el("span", { className: "badge" }, `${a.api} @ ${env}`, " ",
                el("button", { type: "button", text: "×", "aria-label": `Withdraw ${app.id} from ${a.api} in ${env}`,
                  onclick: () => act(`Withdraw ${app.id} from ${a.api}`, "DELETE", `/v1/apps/${enc(app.id)}/authorizations/${enc(a.api)}?environment=${enc(env)}`) }));
            }),
        ),
        el(
          "td",
          {},
          el("button", { type: "button", text: "Reset secret", "aria-label": `Reset the secret of ${app.id}`,
            onclick: async () => showSecret(await act(`Reset the secret of ${app.id}`, "POST", `/v1/apps/${enc(app.id)}/reset-secret`, {})) }),
          el("button", { type: "button", className: "danger", text: "Delete", "aria-label": `Delete app ${app.id}`,
            onclick: () => confirm(`Delete app ${app.id}?`) && act(`Delete ${app.id}`, "DELETE", `/v1/apps/${enc(app.id)}`) }),
        ),
      ),
    ),
  );
}

function renderPolicies() {
  const bound = (name) => allApis().filter((a) => (a.policies ?? []).includes(name)).map((a) => a.id);
  $("policies").replaceChildren(
    ...(config.policies ?? []).map((p) => {
      const apis = bound(p.name);
      return el("li", {}, el("strong", { text: p.name }), ` (${p.type}): `, apis.length ? `bound to ${apis.join(", ")}` : "not bound");
    }),
  );
}

// ---- changes ----------------------------------------------------------------------------------
function showSecret(created) {
  if (!created) return;
  lastCredentials = { key: created.key, secret: created.secret };
  $("secret-app").textContent = created.id;
  $("secret-key").textContent = created.key;
  $("secret-value").textContent = created.secret;
  $("secret-box").hidden = false;
  $("secret-use").focus();
}

$("secret-hide").addEventListener("click", () => {
  $("secret-box").hidden = true;
  $("secret-value").textContent = "";
});
$("secret-use").addEventListener("click", () => {
  if (!lastCredentials) return;
  $("debug-key").value = lastCredentials.key;
  $("debug-secret").value = lastCredentials.secret;
  $("debug-api").focus();
});

$("app-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = { id: $("app-id").value };
  if ($("app-name").value) body.name = $("app-name").value;
  const created = await act(`Create app ${body.id}`, "POST", "/v1/apps", body);
  if (created) {
    $("app-id").value = "";
    $("app-name").value = "";
    showSecret(created);
  }
});

$("authorize-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const app = $("authorize-app").value;
  act(`Authorise ${app}`, "POST", `/v1/apps/${enc(app)}/authorizations`, { api: $("authorize-api").value, environment: $("authorize-env").value });
});

$("publish-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const [api, env] = [$("publish-api").value, $("publish-env").value];
  act(`Publish ${api} to ${env}`, "PUT", `/v1/environments/${enc(env)}/apis/${enc(api)}`);
});

$("bind-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const [api, name] = [$("bind-api").value, $("bind-policy").value];
  act(`Bind ${name} to ${api}`, "PUT", `/v1/apis/${enc(api)}/policies/${enc(name)}`);
});

// ---- debugging --------------------------------------------------------------------------------
function debugApi(id) {
  $("debug-api").value = id;
  fillDebug();
  $("debug-section").scrollIntoView();
  $("debug-key").focus();
}

// The chosen API's method and path (a `{param}` left for the user to fill), its group's host: the
// debug domain (calls counted against its daily quota, as on APIG), else its first domain, else
// the API listener's.
function fillDebug() {
  const api = allApis().find((a) => a.id === $("debug-api").value);
  if (!api) return;
  $("debug-method").value = api.method === "ANY" ? "GET" : api.method;
  $("debug-path").value = api.path;
  const domain = api.group.debug_domain ?? (api.group.domains ?? [])[0];
  $("debug-host").value = domain ?? (apiUrl ? new URL(apiUrl).host : "");
}
$("debug-api").addEventListener("change", fillDebug);

function headerLines(text) {
  return text
    .split("\n")
    .filter((line) => line.includes(":"))
    .map((line) => [line.slice(0, line.indexOf(":")).trim(), line.slice(line.indexOf(":") + 1).trim()]);
}

// Whether the API's CORS policy lets this page call the API listener directly.
function corsAllows(api) {
  const cors = (config.policies ?? []).filter((p) => p.type === "cors" && (api.policies ?? []).includes(p.name));
  return cors.some((p) => {
    const origins = p.config?.allow_origins ?? ["*"];
    return origins.includes("*") || origins.includes(location.origin);
  });
}

function showResult({ status, headers, body, latency }) {
  $("debug-status").textContent = String(status);
  $("debug-latency").textContent = latency.toFixed(1);
  $("debug-headers-out").textContent = headers.map(([n, v]) => `${n}: ${v}`).join("\n");
  $("debug-body-out").textContent = body;
}

async function send(api, method, url, headers, body, host) {
  const bodyAllowed = !/^(GET|HEAD)$/i.test(method) && body !== "";
  const direct = apiUrl && host === new URL(apiUrl).host && corsAllows(api);
  if (direct) {
    const started = performance.now();
    try {
      const response = await fetch(url, {
        method,
        headers: headers.filter(([n]) => n.toLowerCase() !== "host"),
        body: bodyAllowed ? body : undefined,
        cache: "no-store",
        credentials: "omit",
      });
      const text = await response.text();
      $("debug-via").textContent = "sent directly to the API listener (its CORS policy allows this page)";
      return { status: response.status, headers: [...response.headers], body: text, latency: performance.now() - started };
    } catch {
      // blocked by CORS after all (a header not allowed): relayed below
    }
  }
  const target = url.slice(url.indexOf("/", url.indexOf("//") + 2));
  const relayed = await admin("POST", "/v1/console/relay", { method, target, headers, body: bodyAllowed ? body : "" });
  $("debug-via").textContent = "relayed unchanged by the admin listener";
  return { status: relayed.status, headers: relayed.headers, body: relayed.body, latency: relayed.latency_ms };
}

async function explain(canonicalRequest, answer) {
  const box = $("explain-box");
  try {
    const result = await admin("POST", "/v1/console/explain", { canonical_request: canonicalRequest, error: answer });
    $("explain-summary").textContent = result.identical
      ? "The canonical requests are identical: the gateway hashed the same request. The signature differs for another reason: a wrong secret key, another algorithm, or another access key."
      : `The gateway's canonical request differs from the page's in ${result.differences.length} line(s).`;
    $("explain").closest("table").hidden = result.identical;
    $("explain").replaceChildren(
      ...result.differences.map((d) =>
        el(
          "tr",
          {},
          el("th", { scope: "row", text: d.header ? `header ${d.header}` : d.line }),
          el("td", {}, el("code", { className: "diff-local", text: d.local ?? "(absent)" })),
          el("td", {}, el("code", { className: "diff-remote", text: d.remote ?? "(absent)" })),
          el("td", { text: d.hint }),
        ),
      ),
    );
  } catch (error) {
    $("explain-summary").textContent = error.message;
    $("explain").replaceChildren();
  }
  box.hidden = false;
}

$("debug-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("explain-box").hidden = true;
  for (const id of ["debug-status", "debug-latency", "debug-headers-out", "debug-body-out", "debug-canonical", "debug-sts", "debug-via"]) $(id).textContent = "";
  const api = allApis().find((a) => a.id === $("debug-api").value);
  if (!api) return notice("Choose an API to debug.", true);
  const method = $("debug-method").value.trim().toUpperCase();
  const host = $("debug-host").value.trim();
  const query = $("debug-query").value.trim().replace(/^\?/, "");
  const url = `http://${host}${$("debug-path").value}${query ? `?${query}` : ""}`;
  const headers = headerLines($("debug-headers").value);
  const env = $("debug-env").value.trim();
  if (env && env !== "RELEASE" && !headers.some(([n]) => n.toLowerCase() === "x-stage")) headers.push(["X-Stage", env]);
  const body = $("debug-body").value;
  let signed;
  try {
    signed = new Signer({ key: $("debug-key").value, secret: $("debug-secret").value }).sign({ method, url, headers, body });
  } catch (error) {
    return notice(isApigError(error) ? `${error.code}: ${error.message}` : String(error), true);
  }
  $("debug-canonical").textContent = signed.canonicalRequest;
  $("debug-sts").textContent = signed.stringToSign;
  const sent = [...headers];
  for (const [name, value] of Object.entries(signed.headers)) sent.push([name, value]);
  try {
    const result = await send(api, method, url, sent, body, host);
    showResult(result);
    notice(`${method} ${api.id}: ${result.status}`);
    let code = "";
    try {
      code = JSON.parse(result.body).error_code ?? "";
    } catch {
      // not an APIG error body
    }
    if (code.endsWith(".0303")) await explain(signed.canonicalRequest, result.body);
  } catch (error) {
    if (error.message !== "unauthorised") notice(`Debug: ${error.message}`, true);
  }
});

// ---- start ------------------------------------------------------------------------------------
if (sessionStorage.getItem(TOKEN_KEY)) await signIn();
else signOut();
document.body.dataset.ready = "true";
