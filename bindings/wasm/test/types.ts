// Type-checked (tsc --noEmit, strict) against the installed package: the exports map's types
// resolve, and the API reads as documented. Not run.
import {
  ApigError,
  ERROR_CODES,
  PayloadHasher,
  Signer,
  Verifier,
  hashBody,
  isApigError,
  signedFetch,
  type ApigErrorCode,
  type Credentials,
  type CredentialsErrorCode,
  type Identity,
  type SignResult,
} from "apig-wasm";

const signer = new Signer({ key: "AK", secret: "SK", algorithm: "V11-HMAC-SM3", region: "cn-north-4" });
const result: SignResult = signer.sign({
  method: "POST",
  url: "https://api.example.com/v1",
  headers: [["Content-Type", "application/json"]],
  body: new Uint8Array([1, 2, 3]),
  date: new Date(),
});
const authorization: string = result.headers["Authorization"] ?? result.authorization;
const scope: string | undefined = result.credentialScope;

const verifier = new Verifier({ keys: { AK: "SK" }, maxSkewSeconds: 300, algorithms: ["SDK-HMAC-SHA256"] });
const identity: Identity = verifier.verify({ method: "GET", url: "/v1", headers: { host: "h" }, now: 0 });
const signedAt: Date = identity.signedAt;

const hasher: PayloadHasher = signer.createHasher();
hasher.update("chunk");
const hash: string = hasher.digest();
const chained: string = new PayloadHasher().update("a").update(new Uint8Array([1])).digest();
signer.sign({ method: "GET", url: "https://h/", headers: { "X-Tag": ["a", "a"], Accept: "*/*" } });

async function calls(): Promise<void> {
  const fetchSigned = signedFetch(signer, { clockOffset: 0 });
  const response: Response = await fetchSigned("https://api.example.com/v1", { method: "PUT", body: new Blob([hash]) });
  const offset: number = fetchSigned.clockOffset;
  const compat = signedFetch(signer, fetch, { retryOnExpired: false });
  await compat(new URL("https://api.example.com"));
  const hashed = await hashBody(signer, new Blob(["x"]).stream());
  signer.sign({ method: "PUT", url: "https://h/", payloadHash: hashed.payloadHash });
  void response, offset;
}

// the browser pattern: short-lived credentials from the page's own backend
const fromBackend = async (): Promise<Credentials> => {
  const c = await (await fetch("/credentials")).json();
  return { accessKey: c.accessKey, secretKey: c.secretKey, securityToken: c.securityToken, expiresAt: new Date(c.expiresAt) };
};
const sourcedFetch = signedFetch(fromBackend, { refreshMarginSeconds: 60, profile: "apig" });

function handle(e: unknown): ApigErrorCode | CredentialsErrorCode | undefined {
  if (e instanceof ApigError) {
    const status: number = e.status;
    void status;
    return e.code;
  }
  if (isApigError(e)) return e.code;
  return ERROR_CODES[0];
}

void authorization, scope, signedAt, calls, handle, chained, sourcedFetch;
