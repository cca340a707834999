// A small cross-origin API for the example page: answers CORS preflights for one page origin and
// verifies every other request with apig-wasm's Verifier (the same core the gateway uses),
// answering as APIG does: 200 with what it verified, or 401 {"error_code":"APIG.0303",…}.
// Requests under /skewed/ are verified by a clock that runs `skewMs` ahead, to show the page
// learning the offset from the "signature expired" answer.
import { createServer } from "node:http";
import { ApigError, Verifier } from "apig-wasm";

export async function startApiServer({ keys, pageOrigin, skewMs = 0, host = "127.0.0.1", port = 0 }) {
  const verifier = new Verifier({ keys });
  const log = [];
  const server = createServer((req, res) => {
    const cors = {
      "Access-Control-Allow-Origin": pageOrigin,
      "Access-Control-Expose-Headers": "x-request-id",
      Vary: "Origin",
    };
    if (req.method === "OPTIONS") {
      res.writeHead(204, {
        ...cors,
        "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE",
        "Access-Control-Allow-Headers": req.headers["access-control-request-headers"] ?? "",
        "Access-Control-Max-Age": "600",
      });
      res.end();
      return;
    }
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const headers = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
      const now = req.url.startsWith("/skewed/") ? new Date(Date.now() + skewMs) : undefined;
      let status = 200;
      let answer;
      try {
        const identity = verifier.verify({ method: req.method, url: req.url, headers, body, now });
        answer = { accessKey: identity.accessKey, method: req.method, url: req.url, body: body.toString() };
        if (identity.securityToken !== undefined) answer.securityToken = identity.securityToken;
      } catch (error) {
        status = error instanceof ApigError ? error.status : 500;
        answer = {
          error_code: status === 401 ? "APIG.0303" : "APIG.0201",
          error_msg: `Incorrect app authentication information: ${error.message}`,
          code: error.code,
        };
      }
      log.push({ method: req.method, url: req.url, status, code: answer.code });
      res.writeHead(status, { ...cors, "Content-Type": "application/json" });
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  return {
    origin: `http://${host}:${server.address().port}`,
    log,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
