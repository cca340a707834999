// The page's logic: build a Signer from the form, call the API with signedFetch, show the strings
// behind the signature. All signing is apig-wasm's (the Rust core compiled to WebAssembly).
import { Signer, isApigError, signedFetch } from "apig-wasm";

const $ = (id) => document.getElementById(id);
let clockOffset = 0; // learned from the gateway, kept across calls

function signer() {
  return new Signer({
    key: $("key").value,
    secret: $("secret").value,
    algorithm: $("algorithm").value,
    region: $("region").value || undefined,
    service: $("service").value || undefined,
  });
}

// "Name: value" lines, or a JSON array of pairs (exact values, blanks included)
function headers() {
  const text = $("headers").value.trim();
  if (text.startsWith("[")) return JSON.parse(text);
  return text
    .split("\n")
    .filter((line) => line.includes(":"))
    .map((line) => [line.slice(0, line.indexOf(":")).trim(), line.slice(line.indexOf(":") + 1).trim()]);
}

function url() {
  const path = $("path").value;
  return path.includes("://") ? path : $("api").value.replace(/\/$/, "") + path;
}

function request() {
  return { method: $("method").value, url: url(), headers: headers(), body: $("body").value };
}

// fetch refuses a body on GET and HEAD
function sendable(method, body) {
  return /^(GET|HEAD)$/i.test(method) || body === "" ? undefined : body;
}

function show(fields) {
  for (const [id, text] of Object.entries(fields)) $(id).textContent = text ?? "";
}

function showError(error) {
  show({ status: "error", response: isApigError(error) ? `${error.code}: ${error.message}` : String(error) });
}

async function showResponse(response) {
  show({ status: String(response.status), response: await response.text() });
}

// Sign and send with signedFetch: the browser sets Host, the page's clock (plus what the gateway
// taught) dates the request.
$("send").addEventListener("click", async () => {
  show({ status: "…", response: "" });
  try {
    const { method, url, headers, body } = request();
    const fetchSigned = signedFetch(signer(), { clockOffset });
    const response = await fetchSigned(url, { method, headers, body: sendable(method, body) });
    clockOffset = fetchSigned.clockOffset;
    $("offset").textContent = String(clockOffset);
    await showResponse(response);
  } catch (error) {
    showError(error);
  }
});

// Sign one request, send another: the gateway must answer 401.
$("tamper").addEventListener("click", async () => {
  show({ status: "…", response: "" });
  try {
    let { method, url, headers, body } = request();
    const signed = signer().sign({ method, url, headers, body, date: Date.now() + clockOffset });
    body = sendable(method, body);
    const sent = new Headers(headers);
    for (const [name, value] of Object.entries(signed.headers)) {
      if (name !== "Host") sent.set(name, value);
    }
    const tampered = new URL(url);
    tampered.searchParams.append("tampered", "1");
    await showResponse(await fetch(tampered, { method, headers: sent, body }));
  } catch (error) {
    showError(error);
  }
});

// Sign without sending, at the given time: the strings to compare with any other signer.
$("sign").addEventListener("click", () => {
  try {
    const date = $("date").value.trim();
    const signed = signer().sign({ ...request(), date: date || undefined });
    show({
      status: "signed",
      response: "",
      signature: signed.signature,
      authorization: signed.authorization,
      canonical: signed.canonicalRequest,
      "string-to-sign": signed.stringToSign,
    });
  } catch (error) {
    showError(error);
  }
});

document.body.dataset.ready = "true";
